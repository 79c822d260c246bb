"""One HTTP request to a gateway, its failures sorted into the core's DeliveryError.

The connection is opened before the request is written, so the two phases fail differently:
a gateway that cannot be reached never saw the message (``transient``: retry), while a
connection lost after the request was written may have queued it (``uncertain``: never resent
automatically, or the customer gets it twice).
"""

from __future__ import annotations

import http.client
import ssl
import urllib.parse

import attrs

from helpdesk_core.errors import DeliveryError

__all__ = ["Response", "request"]


@attrs.frozen
class Response:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _connection(url: str, timeout: float,
                context: ssl.SSLContext | None) -> tuple[http.client.HTTPConnection, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {url!r}", transient=False)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=context or ssl.create_default_context()), path
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), path


def request(method: str, url: str, *, timeout: float, body: bytes | None = None,
            headers: dict[str, str] | None = None, what: str = "the gateway",
            context: ssl.SSLContext | None = None) -> Response:
    """Send one request; returns any answer the server gave (the caller judges the status)."""
    connection, path = _connection(url, timeout, context)
    try:
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"{what} cannot be reached: {exc}", transient=True) from exc
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return Response(answer.status, answer.read())
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(
                f"{what} did not answer ({type(exc).__name__}: {exc}); the message may have "
                "been queued", transient=False, uncertain=True,
            ) from exc
    finally:
        connection.close()


def safe_url(url: str) -> str:
    """The URL without credentials or query, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
