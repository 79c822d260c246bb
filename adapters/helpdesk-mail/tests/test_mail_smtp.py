"""SmtpSender against a real SMTP server (aiosmtpd), and the header-injection properties."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.errors import ConfigurationError, DeliveryError, ValidationError
from helpdesk_core.ports.messaging import OutgoingAttachment, OutgoingMail
from helpdesk_mail.smtp import SmtpSender, SmtpSettings, build_message
from smtp_server import SmtpServer, smtp_server


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def sender_for(server: SmtpServer) -> SmtpSender:
    return SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, security="none",
                                   timeout=5))


def mail(**changes: object) -> OutgoingMail:
    values: dict[str, object] = {
        "message_id": "<r1@helpdesk.shop.example>", "sender": "support@shop.example",
        "sender_name": "Petra Malá", "recipients": ("jana@example.cz",),
        "subject": "Re: [HD-2026-000001] Rozbitý hrnek",
        "text": "Dobrý den,\n.tečka na začátku řádku\nNáhradu pošleme zítra.",
        "html": "<p>Dobrý den</p>",
        "headers": {"In-Reply-To": "<c1@example.cz>", "References": "<c1@example.cz>",
                    "Auto-Submitted": "auto-replied"},
        "reply_to": "support@shop.example",
        "attachments": (OutgoingAttachment("dobropis.pdf", "application/pdf", b"%PDF-1.4 x"),),
    }
    values.update(changes)
    return OutgoingMail(**values)  # type: ignore[arg-type]


def test_a_message_arrives_whole(server: SmtpServer) -> None:
    calls: list[str] = []
    results = sender_for(server).send(mail(), before_data=lambda: calls.append("data"))
    assert results == {"jana@example.cz": "sent"}
    assert calls == ["data"]
    [received] = server.received
    assert received.recipients == ["jana@example.cz"]
    message = received.message
    assert message["Message-ID"] == "<r1@helpdesk.shop.example>"
    assert message["Subject"] == "Re: [HD-2026-000001] Rozbitý hrnek"
    assert str(message["From"]) == "Petra Malá <support@shop.example>"
    assert message["In-Reply-To"] == "<c1@example.cz>"
    assert message["Auto-Submitted"] == "auto-replied"
    body = message.get_body(("plain",))
    assert body is not None
    assert ".tečka na začátku řádku" in body.get_content()  # dot-stuffing undone
    html = message.get_body(("html",))
    assert html is not None
    assert "Dobrý den" in html.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "dobropis.pdf"
    assert attachment.get_content() == b"%PDF-1.4 x"


def test_one_of_three_recipients_refused(server: SmtpServer) -> None:
    server.handler.refuse.add("nobody@example.cz")
    results = sender_for(server).send(mail(recipients=("jana@example.cz", "nobody@example.cz",
                                                       "pavel@example.cz")))
    assert results["jana@example.cz"] == "sent"
    assert results["pavel@example.cz"] == "sent"
    assert results["nobody@example.cz"].startswith("refused: 550")
    [received] = server.received
    assert received.recipients == ["jana@example.cz", "pavel@example.cz"]


def test_every_recipient_refused_sends_nothing(server: SmtpServer) -> None:
    server.handler.defer.add("jana@example.cz")
    results = sender_for(server).send(mail())
    assert results["jana@example.cz"].startswith("deferred: 451")
    assert server.received == []


@pytest.mark.parametrize(("fault", "transient"), [("421-mail", True), ("451-data", True),
                                                  ("550-data", False)])
def test_refusals_are_transient_or_permanent(server: SmtpServer, fault: str,
                                             transient: bool) -> None:
    server.handler.fault = fault
    with pytest.raises(DeliveryError) as caught:
        sender_for(server).send(mail())
    assert caught.value.transient is transient
    assert caught.value.uncertain is False
    assert server.received == []


def test_a_connection_dropped_after_the_data_is_uncertain(server: SmtpServer) -> None:
    server.handler.fault = "drop-after-data"
    calls: list[str] = []
    with pytest.raises(DeliveryError) as caught:
        sender_for(server).send(mail(), before_data=lambda: calls.append("data"))
    assert caught.value.uncertain is True
    assert caught.value.transient is False
    assert calls == ["data"]
    assert len(server.received) == 1  # it did arrive: that is why it must not be resent


def test_a_server_that_is_down_is_transient() -> None:
    down = SmtpServer()  # never started
    with pytest.raises(DeliveryError) as caught:
        sender_for(down).send(mail())
    assert caught.value.transient is True


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        SmtpSettings(host="x", security="ssl")
    with pytest.raises(ConfigurationError):
        SmtpSettings(host="x", username="u")
    assert "secret" not in repr(SmtpSettings(host="x", username="u", password="secret"))


@pytest.mark.parametrize("field", ["subject", "sender_name"])
@pytest.mark.parametrize("breaker", ["\r\nBcc: victim@example.org", "\nX: y", "\x00",
                                     "\u2028Bcc: a@b.c", "\x85", "\x0b"])
def test_line_breaks_in_headers_are_refused(field: str, breaker: str) -> None:
    with pytest.raises(ValidationError):
        build_message(mail(**{field: f"Hello{breaker}"}))


def test_injected_header_names_and_reserved_headers_are_refused() -> None:
    with pytest.raises(ValidationError):
        build_message(mail(headers={"Bcc": "victim@example.org"}))
    with pytest.raises(ValidationError):
        build_message(mail(headers={"X-Bad: y\r\nBcc": "v@example.org"}))
    with pytest.raises(ValidationError):
        build_message(mail(headers={"X-Loop": "a\r\nBcc: v@example.org"}))


def test_the_refusal_reaches_the_dispatcher_as_a_permanent_failure(server: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        sender_for(server).send(mail(subject="a\r\nBcc: v@example.org"))
    assert caught.value.transient is False
    assert server.received == []


@settings(max_examples=300, deadline=None)
@given(subject=st.text(max_size=200), name=st.text(max_size=80))
def test_no_unicode_subject_or_name_adds_a_header_or_recipient(subject: str, name: str) -> None:
    try:
        message = build_message(mail(subject=subject, sender_name=name, attachments=()))
        data = message.as_bytes(policy=policy.SMTP)
    except ValidationError:
        return  # refused: nothing serialised
    parsed = message_from_bytes(data, policy=policy.default)
    names = sorted(k.lower() for k in parsed)
    assert names == sorted(["message-id", "date", "from", "to", "reply-to", "subject",
                            "in-reply-to", "references", "auto-submitted", "mime-version",
                            "content-type"])
    assert parsed.get_all("To") == ["jana@example.cz"]
    assert parsed["Bcc"] is None
    assert parsed["Cc"] is None
    assert parsed["From"].addresses[0].addr_spec == "support@shop.example"
    assert len(parsed["From"].addresses) == 1
    # Whatever was in the subject comes back as one line of text.
    assert "\n" not in str(parsed["Subject"])
    assert "\r" not in str(parsed["Subject"])


# -- TLS and AUTH -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return str(cert), str(key)


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and \
        (auth_data.login, auth_data.password) == (b"helpdesk", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_login(certificate: tuple[str, str], security: str) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer()
    options: dict[str, Any] = {"authenticator": _authenticator}
    if security == "starttls":
        options.update(tls_context=context, require_starttls=True, auth_require_tls=True)
    else:  # aiosmtpd does not count implicit TLS for auth_require_tls; it is TLS throughout
        options.update(ssl_context=context, auth_require_tls=False)
    server.controller = Controller(server.handler, hostname="127.0.0.1", port=server.port,
                                   decode_data=False, **options)
    server.controller.start()
    try:
        good = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, security=security,
                                       username="helpdesk", password="s3cret", ca_file=cert,
                                       timeout=5))
        assert good.send(mail()) == {"jana@example.cz": "sent"}
        assert len(server.received) == 1
        wrong = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, security=security,
                                        username="helpdesk", password="wrong", ca_file=cert,
                                        timeout=5))
        with pytest.raises(DeliveryError) as refused:
            wrong.send(mail())
        assert refused.value.transient is False
        untrusted = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port,
                                            security=security, username="helpdesk",
                                            password="s3cret", timeout=5))
        with pytest.raises(DeliveryError):  # the system's CAs do not know our certificate
            untrusted.send(mail())
        assert len(server.received) == 1
    finally:
        server.stop()


def test_the_plugin_registers_the_smtp_sender(server: SmtpServer) -> None:
    from helpdesk_core.bootstrap import bootstrap
    from helpdesk_core.settings import Settings

    settings = Settings(storage="memory", options={
        "smtp": {"host": "127.0.0.1", "port": server.port, "security": "none"}})
    with bootstrap(settings, environ={}) as helpdesk:
        senders = helpdesk.registry.mail_senders
        assert "smtp" in senders.names()
        sender = senders.create("smtp", settings)
        assert isinstance(sender, SmtpSender)
        assert sender.send(mail()) == {"jana@example.cz": "sent"}
        with pytest.raises(ConfigurationError):
            senders.create("smtp", Settings(storage="memory"))
