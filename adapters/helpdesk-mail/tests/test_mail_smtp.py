"""SmtpSender against a real SMTP server (aiosmtpd), and the header-injection properties."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.errors import ConfigurationError, DeliveryError, ValidationError
from helpdesk_core.ports.messaging import OutgoingAttachment, OutgoingMail
from helpdesk_mail.errors import SmtpConfigurationError
from helpdesk_mail.smtp import SmtpSender, SmtpSettings, build_message
from smtp_server import SmtpServer, XOAuthOnlyHandler, smtp_server


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


@pytest.mark.parametrize("host", ["smtp.shop.example", "10.0.0.25", "::ffff:10.0.0.25",
                                  "localhost.shop.example"])
def test_plain_text_to_another_host_is_refused(host: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        SmtpSettings(host=host, security="none", username="helpdesk", password="s3cret")
    assert str(refused.value).startswith(
        f"SMTP security='none' would send the password and every message to {host} "
        "unencrypted; use security='starttls' or 'tls', or set allow_plaintext=True")
    assert "s3cret" not in str(refused.value)
    with pytest.raises(ConfigurationError, match="would send every message to"):
        SmtpSettings(host=host, security="none")  # no login: the mail still goes in clear
    allowed = SmtpSettings(host=host, security="none", allow_plaintext=True)
    assert allowed.allow_plaintext is True


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_plain_text_to_this_machine_is_allowed(host: str) -> None:
    assert SmtpSettings(host=host, security="none", username="u", password="p").host == host


def test_the_plugin_refuses_plain_text_to_another_host_unless_allowed() -> None:
    from helpdesk_core.plugins import Hooks, make_plugin_manager
    from helpdesk_core.settings import Settings

    registry = Hooks(make_plugin_manager(autoload=True)).register()
    plain = {"host": "smtp.shop.example", "security": "none"}
    with pytest.raises(ConfigurationError, match="allow_plaintext=True"):
        registry.mail_senders.create("smtp", Settings(options={"smtp": plain}))
    for value in (True, "true", "1"):
        sender = registry.mail_senders.create("smtp", Settings(options={
            "smtp": {**plain, "allow_plaintext": value}}))
        assert isinstance(sender, SmtpSender)
        assert sender.settings.allow_plaintext is True
    with pytest.raises(ConfigurationError, match="allow_plaintext must be true or false"):
        registry.mail_senders.create("smtp", Settings(options={
            "smtp": {**plain, "allow_plaintext": "sometimes"}}))


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


def _make_certificate(folder: Path, names: str) -> tuple[str, str]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", f"subjectAltName={names}"],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _make_certificate(tmp_path_factory.mktemp("smtp-tls"), "IP:127.0.0.1,DNS:localhost")


@pytest.fixture(scope="module")
def other_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Trusted through ca_file, but made out to another host than 127.0.0.1."""
    return _make_certificate(tmp_path_factory.mktemp("smtp-tls-other"),
                             "DNS:mail.other.example")


def _server_context(cert_and_key: tuple[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert_and_key)
    return context


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


# -- what each failure becomes: message and transient flag ---------------------------------


@attrs.frozen
class Failure:
    """One way the conversation can fail: how the server runs, how the sender is set up, and
    the error the sender must raise (its class, whether it is transient, words it must say)."""

    server: dict[str, Any]
    settings: dict[str, Any]
    error: type[DeliveryError]
    transient: bool
    says: tuple[str, ...]
    fault: str | None = None
    handler: Callable[[], Any] | None = None


LOGIN = {"username": "helpdesk", "password": "s3cret"}
TLS_SERVER = "tls-server"  # replaced by a TLS context for the test's certificate
WRONG_PASSWORD = {"username": "helpdesk", "password": "wrong-Passw0rd"}


def _auth_later(server: Any, session: Any, envelope: Any, mechanism: str,
                auth_data: Any) -> AuthResult:
    return AuthResult(success=False, handled=False,
                      message="454 4.7.0 Temporary authentication failure")


FAILURES: dict[str, Failure] = {
    # -- settings that do not fit the server: permanent, and a ConfigurationError ----------
    "no AUTH offered, credentials given": Failure(
        server={}, settings={"security": "none", **LOGIN}, error=SmtpConfigurationError,
        transient=False, says=("does not offer AUTH (advertised: SIZE", "remove the credentials")),
    "AUTH only after STARTTLS, security none": Failure(
        server={"tls_context": TLS_SERVER, "authenticator": _authenticator},
        settings={"security": "none", **LOGIN}, error=SmtpConfigurationError, transient=False,
        says=("does not offer AUTH (advertised:", "STARTTLS", "did you mean security='starttls'?",
              "remove the credentials")),
    "wrong password (535)": Failure(
        server={"authenticator": _authenticator, "auth_require_tls": False},
        settings={"security": "none", **WRONG_PASSWORD}, error=SmtpConfigurationError,
        transient=False, says=("refused the login of 'helpdesk': 535 5.7.8",
                               "check the username and password")),
    "no AUTH mechanism in common": Failure(
        server={"authenticator": _authenticator, "auth_require_tls": False,
                "auth_exclude_mechanism": ["LOGIN", "PLAIN"]},
        handler=XOAuthOnlyHandler, settings={"security": "none", **LOGIN},
        error=SmtpConfigurationError, transient=False,
        says=("offers AUTH XOAUTH2, none of which this sender speaks",)),
    "STARTTLS not offered": Failure(
        server={}, settings={"security": "starttls"}, error=SmtpConfigurationError,
        transient=False, says=("does not offer STARTTLS (advertised: SIZE",
                               "security='tls' if it expects TLS from the start")),
    "certificate not trusted (STARTTLS)": Failure(
        server={"tls_context": TLS_SERVER}, settings={"security": "starttls", "ca_file": None},
        error=SmtpConfigurationError, transient=False,
        says=("certificate of 127.0.0.1:", "is not trusted (self-signed certificate)",
              "ca_file=")),
    "certificate not trusted (implicit TLS)": Failure(
        server={"ssl_context": TLS_SERVER}, settings={"security": "tls", "ca_file": None},
        error=SmtpConfigurationError, transient=False,
        says=("is not trusted (self-signed certificate)",)),
    "certificate made out to another host": Failure(
        server={"tls_context": "other"}, settings={"security": "starttls", "ca_file": "other"},
        error=SmtpConfigurationError, transient=False,
        says=("is made out to another host (IP address mismatch", "set host=")),
    "implicit TLS to a port without TLS": Failure(
        server={}, settings={"security": "tls"}, error=SmtpConfigurationError, transient=False,
        says=("does not answer with TLS (WRONG_VERSION_NUMBER)",
              "did you mean security='starttls'")),
    "unreadable ca_file": Failure(
        server={}, settings={"security": "starttls", "ca_file": "/nonexistent/ca.pem"},
        error=SmtpConfigurationError, transient=False,
        says=("ca_file '/nonexistent/ca.pem' cannot be used",)),
    "mail only after a login, none configured (530)": Failure(
        server={"authenticator": _authenticator, "auth_required": True},
        settings={"security": "none"}, error=SmtpConfigurationError, transient=False,
        says=("takes mail only after a login", "530 5.7.0", "set username and password")),
    # -- refusals by reply code ---------------------------------------------------------
    "login cannot be checked now (454)": Failure(
        server={"authenticator": _auth_later, "auth_require_tls": False},
        settings={"security": "none", **LOGIN}, error=DeliveryError, transient=True,
        says=("could not check the login of 'helpdesk' now: 454 4.7.0",)),
    "STARTTLS refused for now (454)": Failure(
        server={"tls_context": TLS_SERVER,
                "starttls_reply": "454 4.7.0 TLS not available due to temporary reason"},
        settings={"security": "starttls"}, error=DeliveryError, transient=True,
        says=("refused STARTTLS: 454 4.7.0",)),
    "greeting 421": Failure(
        server={"greeting": "421 4.3.2 Too many connections, try later"},
        settings={"security": "none"}, error=DeliveryError, transient=True,
        says=("refused the connection: 421 4.3.2",)),
    "greeting 554": Failure(
        server={"greeting": "554 5.3.2 No SMTP service here"},
        settings={"security": "none"}, error=DeliveryError, transient=False,
        says=("refused the connection: 554 5.3.2",)),
    "MAIL FROM 451": Failure(
        server={}, fault="451-mail", settings={"security": "none"}, error=DeliveryError,
        transient=True, says=("MAIL FROM refused: 451 4.3.0",)),
    "MAIL FROM 553": Failure(
        server={}, fault="553-mail", settings={"security": "none"}, error=DeliveryError,
        transient=False, says=("MAIL FROM refused: 553 5.7.1",)),
    "final reply 451": Failure(
        server={}, fault="451-data", settings={"security": "none"}, error=DeliveryError,
        transient=True, says=("message refused: 451 4.3.0",)),
    "final reply 550": Failure(
        server={}, fault="550-data", settings={"security": "none"}, error=DeliveryError,
        transient=False, says=("message refused: 550 5.7.1",)),
    # -- a server that is down, slow or gone: transient -----------------------------------
    "connection closed before the data": Failure(
        server={}, fault="close-at-rcpt", settings={"security": "none"}, error=DeliveryError,
        transient=True, says=("closed the connection before the data was sent",)),
    "no answer before the data": Failure(
        server={}, fault="slow-rcpt", settings={"security": "none", "timeout": 0.5},
        error=DeliveryError, transient=True,
        says=("did not answer within 0.5 s, before the data was sent",)),
    "STARTTLS to a port that expects TLS at once": Failure(
        server={"ssl_context": TLS_SERVER}, settings={"security": "starttls", "timeout": 0.5},
        error=DeliveryError, transient=True,
        says=("took the connection but sent no greeting within 0.5 s", "security='tls'?")),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_each_failure_has_its_message_and_transient_flag(
        case: str, certificate: tuple[str, str], other_certificate: tuple[str, str]) -> None:
    failure = FAILURES[case]
    certificates = {TLS_SERVER: certificate, "other": other_certificate}
    options = {key: _server_context(certificates[value])
               if key in ("tls_context", "ssl_context") else value
               for key, value in failure.server.items()}
    if "ssl_context" in options:  # aiosmtpd counts only STARTTLS for auth_require_tls
        options.setdefault("auth_require_tls", False)
    handler = failure.handler() if failure.handler else None
    settings = {"security": "none", "timeout": 5, "ca_file": certificate[0], **failure.settings}
    if settings["ca_file"] == "other":
        settings["ca_file"] = other_certificate[0]
    with smtp_server(handler, **options) as server:
        server.handler.fault = failure.fault
        sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, **settings))
        with pytest.raises(DeliveryError) as caught:
            sender.send(mail())
        assert server.received == []
    error = caught.value
    assert type(error) is failure.error, str(error)
    assert (error.transient, error.uncertain) == (failure.transient, False), str(error)
    assert isinstance(error, ConfigurationError) is (failure.error is SmtpConfigurationError)
    for words in failure.says:
        assert words in str(error)
    assert "s3cret" not in str(error)
    assert "wrong-Passw0rd" not in str(error)


def test_a_server_that_is_down_says_connection_refused() -> None:
    down = SmtpServer()  # never started
    with pytest.raises(DeliveryError) as caught:
        sender_for(down).send(mail())
    assert caught.value.transient is True
    assert str(caught.value) == (f"cannot reach 127.0.0.1:{down.port}: connection refused "
                                 "(no server listening on that port)")


def test_a_host_name_that_does_not_resolve_is_transient() -> None:
    sender = SmtpSender(SmtpSettings(host="smtp.helpdesk.invalid", security="starttls",
                                     timeout=5))
    with pytest.raises(DeliveryError) as caught:
        sender.send(mail())
    assert caught.value.transient is True
    assert "the host name 'smtp.helpdesk.invalid' cannot be resolved" in str(caught.value)


def test_a_server_that_never_greets_is_a_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never answers
        port = silent.getsockname()[1]
        sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, security="none",
                                         timeout=0.5))
        with pytest.raises(DeliveryError) as caught:
            sender.send(mail())
    assert caught.value.transient is True
    assert "sent no greeting within 0.5 s" in str(caught.value)


def test_a_non_ascii_domain_goes_out_in_its_ascii_form(server: SmtpServer) -> None:
    results = sender_for(server).send(mail(recipients=("jana@příklad.cz",),
                                           to=("jana@příklad.cz",)))
    assert results == {"jana@příklad.cz": "sent"}
    [received] = server.received
    assert received.recipients == ["jana@xn--pklad-zsa96e.cz"]
    assert received.message["To"] == "jana@xn--pklad-zsa96e.cz"


def test_a_non_ascii_local_part_is_refused_before_sending(server: SmtpServer) -> None:
    hidden = mail(recipients=("jana@example.cz", "jaňa@example.cz"), to=("jana@example.cz",))
    with pytest.raises(DeliveryError) as caught:
        sender_for(server).send(hidden)
    assert caught.value.transient is False
    assert "non-ASCII local part" in str(caught.value)
    assert "SMTPUTF8" in str(caught.value)
    assert server.received == []
