"""The one outgoing HTTP request the click-to-call clients make, with basic auth."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from helpdesk_core.errors import DeliveryError

__all__ = ["post"]

MAX_ANSWER = 1_000_000


def post(url: str, *, body: bytes, content_type: str, user: str, password: str,
         timeout: float) -> dict[str, Any]:
    """POST ``body`` and return the JSON object the API answered with.

    Refusals (4xx) raise a permanent DeliveryError, server errors and broken connections a
    transient one.
    """
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": content_type, "Accept": "application/json",
        "Authorization": f"Basic {credentials}",
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            data = answer.read(MAX_ANSWER)
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        raise DeliveryError(f"{url} answered {exc.code}: {detail}",
                            transient=exc.code >= 500 or exc.code == 429) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{url} could not be reached: {exc}", transient=True) from None
    try:
        parsed = json.loads(data or b"{}")
    except ValueError:
        raise DeliveryError(f"{url} answered with something that is not JSON",
                            transient=False) from None
    if not isinstance(parsed, dict):
        raise DeliveryError(f"{url} answered with JSON that is not an object", transient=False)
    return parsed
