"""AttachmentMeta.received: a received file is served inline only as an inert image whose bytes
are that image; everything else is a download that keeps the type its sender declared."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.article import (
    DOWNLOAD_TYPE,
    INLINE_TYPES,
    AttachmentMeta,
    image_type,
)
from helpdesk_core.errors import ValidationError

SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a",
              b"RIFF\x00\x00\x00\x00WEBP", b"BM" + b"\x00" * 12, b"\x00\x00\x00\x1cftypavif",
              b"<svg", b"<html", b"%PDF", b""]
TYPES = st.one_of(
    st.sampled_from([*sorted(INLINE_TYPES), "image/svg+xml", "text/html", "image/jpg",
                     "IMAGE/PNG", "image/png; name=x.png", "application/octet-stream",
                     "application/xhtml+xml", "text/xml", "image/tiff", "", "garbage",
                     "image/", "/png"]),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(declared=TYPES, head=st.one_of(st.sampled_from(SIGNATURES), st.binary(max_size=16)),
       inline=st.booleans(), junk=st.binary(max_size=8))
def test_inline_only_ever_means_an_inert_image_that_its_bytes_are(
        declared: str, head: bytes, inline: bool, junk: bytes) -> None:
    data = head + junk
    meta = AttachmentMeta.received(blob_key="b" * 64, filename="x", declared_type=declared,
                                   size=len(data), head=data[:16], inline=inline)
    if meta.disposition == "inline":
        assert meta.inline
        assert meta.content_type in INLINE_TYPES
        assert image_type(data[:16]) == meta.content_type
    if meta.content_type != DOWNLOAD_TYPE:
        assert meta.content_type in INLINE_TYPES
    else:
        assert not meta.inline
    assert meta.declared_type != meta.content_type
    assert AttachmentMeta.from_dict(meta.to_dict()) == meta


@pytest.mark.parametrize(("head", "expected"), [
    (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
    (b"\xff\xd8\xff\xdb", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8L", "image/webp"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
    (b"BM" + b"\x00" * 12, "image/bmp"),
    (b"BM", None),
    (b"\x00\x00\x00\x20ftypavis", "image/avif"),
    (b"\x00\x00\x00\x20ftypmp42", None),
    (b"<svg onload=alert(1)>", None),
    (b"", None),
])
def test_image_type_reads_the_signature(head: bytes, expected: str | None) -> None:
    assert image_type(head) == expected


def test_files_made_by_the_host_keep_their_type_but_are_never_inline_unless_images() -> None:
    pdf = AttachmentMeta("b" * 64, "faktura.pdf", "application/pdf")
    assert (pdf.content_type, pdf.disposition) == ("application/pdf", "attachment")
    svg = AttachmentMeta("b" * 64, "logo.svg", "image/svg+xml", inline=True)
    assert svg.disposition == "attachment"
    png = AttachmentMeta("b" * 64, "logo.png", "image/png", inline=True)
    assert png.disposition == "inline"


def test_a_declared_type_must_be_a_type() -> None:
    with pytest.raises(ValidationError):
        AttachmentMeta("b" * 64, "x", declared_type="not a type")
