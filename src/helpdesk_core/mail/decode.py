"""Charset and header decoding for inbound mail. Nothing here raises on bad input.

Order of attempts for a body or header: the declared charset (through a table of aliases and
supersets: mail clients routinely declare ``iso-8859-1`` and send ``cp1252``), then the guess
list (default: utf-8, windows-1250, iso-8859-2, cp1252), then utf-8 with replacement characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Sequence

__all__ = [
    "DEFAULT_GUESSES",
    "decode_bytes",
    "decode_header_value",
    "decode_param",
    "header_bytes",
    "normalise_charset",
    "raw_header_text",
]

DEFAULT_GUESSES: tuple[str, ...] = ("utf-8", "windows-1250", "iso-8859-2", "cp1252")

# Declared name → the codec that decodes what senders actually send under that name.
_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-2022-jp": "iso2022_jp_2",
    "iso-2022-jp-1": "iso2022_jp_2",
    "iso-2022-jp-2": "iso2022_jp_2",
    "iso-2022-jp-3": "iso2022_jp_3",
    "iso-2022-jp-ms": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_2",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "utf-7": "utf-7",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "big5": "big5hkscs",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "x-euc-cn": "gb18030",
    "chinese": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "x-euc-jp": "euc_jp",
    "windows-31j": "cp932",
    "x-ms-cp932": "cp932",
    "x-windows-949": "cp949",
    "ks_c_5601-1989": "cp949",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "x-mac-ce": "mac-latin2",
    "x-mac-cyrillic": "mac-cyrillic",
    "utf8mb4": "utf-8",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "ansi": "cp1252",
    "unicode": "utf-16",
    "ucs-2": "utf-16",
    "iso-10646-ucs-2": "utf-16-be",
}
_SEVEN_BIT_CODECS = ("utf-7", "iso2022", "hz", "utf-16", "utf-32")
_UNKNOWN = {"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "8bit", ""}
_CHARSET_TOKEN = re.compile(r"[A-Za-z0-9_.:+-]{1,40}")


def normalise_charset(name: object) -> str | None:
    """The codec name to try for a declared charset, or None when it says nothing usable."""
    if not isinstance(name, str):
        return None
    label = name.strip().strip("\"';,").strip().lower()
    if label.startswith("cp-"):
        label = "cp" + label[3:]
    if label in _UNKNOWN or not _CHARSET_TOKEN.fullmatch(label):
        return None
    label = _ALIASES.get(label, label)
    if re.fullmatch(r"windows-125[0-8]|win-?125[0-8]|x-cp125[0-8]", label):
        label = "cp" + label[-4:]
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # Only real text codecs: "base64", "rot13" and friends are codecs too.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


_SURROGATE = re.compile("[\ud800-\udfff]")


def _try(data: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        text = data.decode(codec)
    except Exception:  # UnicodeDecodeError, LookupError, odd codec state errors
        return None
    # utf-7 and friends can decode to lone surrogates, which no store or encoder accepts
    return _SURROGATE.sub("\ufffd", text)


# Single-byte charsets that decode any byte sequence, so a wrong label never fails on its own.
_SINGLE_BYTE = {"cp1252", "cp1250", "iso8859-1", "iso8859-2", "iso8859-15", "latin-1"}
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")


def _actual_codec(data: bytes, declared: str | None) -> str | None:
    """Correct the two labels senders most often get wrong.

    Text labelled with a single-byte charset that is valid UTF-8 with multi-byte sequences is
    UTF-8 (web forms and scripts label UTF-8 as ISO-8859-1; real Latin text practically never
    forms valid UTF-8 sequences). ``iso-8859-2`` text with bytes 0x80-0x9f (C1 controls there)
    is windows-1250, where those bytes are letters such as š, ť and ž.
    """
    if declared not in _SINGLE_BYTE:
        return declared
    if _UTF8_MULTIBYTE.search(data):
        try:
            as_utf8 = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if _plausible_utf8(as_utf8):
                return "utf-8"
    if declared == "iso8859-2" and _C1_BYTES.search(data):
        return "cp1250"
    return declared


# What UTF-8 mislabelled as a Latin charset decodes to: Latin letters, punctuation, currency.
_COMMON_NON_ASCII = re.compile("[\u00a0-\u017f\u2000-\u206f\u20a0-\u20cf\u2100-\u214f]")
_ACCIDENTAL_PAIRS = 3


def _plausible_utf8(text: str) -> bool:
    """Whether valid UTF-8 is really UTF-8 rather than short single-byte text whose letters
    happen to pair up: Czech "ÉŠ" in iso-8859-2 is the bytes C9 A9, which UTF-8 reads as the
    IPA letter U+0269. Three- and four-byte sequences (most symbols, emoji, CJK) practically never
    occur by chance; two-byte ones do, so they count only when they decode to common Latin
    letters and punctuation, or when there are too many of them for chance."""
    unusual = 0
    for ch in text:
        code = ord(ch)
        if code >= 0x800:
            return True
        if code > 0x7F and not _COMMON_NON_ASCII.match(ch):
            unusual += 1
    return unusual == 0 or unusual > _ACCIDENTAL_PAIRS


def _stray_bytes_as_cp1252(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start:exc.start + 1].decode("cp1252", "replace"), exc.start + 1


_STRAY_HANDLER = "helpdesk-mail-stray-cp1252"
codecs.register_error(_STRAY_HANDLER, _stray_bytes_as_cp1252)


def _mostly_utf8(data: bytes, *, declared: bool) -> str | None:
    """UTF-8 text with stray single-byte characters (a shop template in windows-1252
    filled with UTF-8 data, a latin-1 quote pasted into a UTF-8 mail): the valid sequences
    decoded as UTF-8, each stray byte as windows-1252. None when the data is not mostly
    UTF-8."""
    sample = data.decode("utf-8", "replace")
    bad = sample.count("\ufffd")
    good = sum(1 for ch in sample if ord(ch) > 127) - bad
    # Valid multi-byte sequences rarely happen by accident in single-byte text; a sender
    # who declared UTF-8 gets more benefit of the doubt.
    if (good < 1 or bad > 5 * good) if declared else (good < 2 or bad > 2 * good):
        return None
    return data.decode("utf-8", _STRAY_HANDLER)


def decode_bytes(
    data: bytes, charset: object = None, *, guesses: Sequence[str] = DEFAULT_GUESSES
) -> str:
    """Decode ``data`` as text; declared charset → guesses → utf-8 with replacement."""
    if not data:
        return ""
    declared = normalise_charset(charset)
    # 7-bit data is ASCII unless the charset is one of the 7-bit encodings (or UTF-16/32)
    if data.isascii() and not (declared or "").startswith(_SEVEN_BIT_CODECS):
        return data.decode("ascii")
    declared = _actual_codec(data, declared)
    text = _try(data, declared)
    if text is not None:
        return text
    if declared in {None, "utf-8"}:
        mixed = _mostly_utf8(data, declared=declared == "utf-8")
        if mixed is not None:
            return mixed
    for guess in guesses:
        text = _try(data, normalise_charset(guess))
        if text is not None:
            return text
    return data.decode("utf-8", "replace")


def header_bytes(value: str) -> bytes:
    """The bytes behind a header string the stdlib parser produced (raw 8-bit bytes are kept
    as surrogate escapes there)."""
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode(
            "utf-8", "replace"
        )


def raw_header_text(value: str, *, guesses: Sequence[str] = DEFAULT_GUESSES) -> str:
    """Undo surrogate escapes: raw 8-bit header bytes decoded through the guess list."""
    if value.isascii():
        return value
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value.encode("utf-8", "replace").decode("utf-8")
    return decode_bytes(header_bytes(value), None, guesses=guesses)


# The encoded text may hold raw spaces: broken mailers write "=?utf-8?Q?Grüße aus Köln?="
# with spaces instead of "_"; a "?" still ends it, so two words never merge.
_ENCODED_WORD = re.compile(
    r"=\?(?P<charset>[^?\s*]*)(?:\*[^?\s]*)?\?(?P<enc>[bBqQ])\?(?P<text>[^?\r\n]*?)\?="
)
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")
_UNFOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")


def _decode_q(text: str) -> bytes:
    raw = text.replace("_", " ").encode("ascii", "replace")
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x3D and _HEX2.fullmatch(raw[i + 1:i + 3]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
            continue
        out.append(byte)
        i += 1
    return bytes(out)


def _decode_b(text: str) -> bytes:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else None]
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def decode_header_value(value: object, *, guesses: Sequence[str] = DEFAULT_GUESSES) -> str:
    """Decode one header value: unfold, raw 8-bit bytes, RFC 2047 encoded words.

    Adjacent encoded words in the same charset are joined as bytes before decoding, so a
    character split across two words survives; whitespace between encoded words is dropped,
    and words glued together without whitespace are decoded too.
    """
    if not isinstance(value, str):
        try:
            value = str(value)
        except Exception:
            return ""
    text = _UNFOLD.sub("", raw_header_text(value, guesses=guesses))
    if "=?" not in text:
        return text
    pieces: list[str] = []
    pending: bytearray = bytearray()
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(decode_bytes(bytes(pending), pending_charset, guesses=guesses))
        pending = bytearray()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        between = text[pos:match.start()]
        if between and not (pending and between.isspace()):
            flush()
            pieces.append(between)
        charset = match.group("charset")
        data = (_decode_b if match.group("enc") in "bB" else _decode_q)(match.group("text"))
        if pending and (charset or "").lower() != (pending_charset or "").lower():
            flush()
        pending_charset = charset
        pending.extend(data)
        pos = match.end()
    flush()
    pieces.append(text[pos:])
    return "".join(pieces)


def decode_param(value: object, *, guesses: Sequence[str] = DEFAULT_GUESSES) -> str | None:
    """Decode a MIME parameter as the stdlib returns it: a plain (maybe RFC 2047-encoded)
    string, or an RFC 2231 ``(charset, language, value)`` triple with continuations joined."""
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 3:
        charset, _language, text = value
        if not isinstance(text, str):
            return None
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            data = header_bytes(text) if text.isascii() else text.encode("utf-8", "replace")
        return decode_bytes(data, charset or None, guesses=guesses)
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        return decode_header_value(text, guesses=guesses)
    return None
