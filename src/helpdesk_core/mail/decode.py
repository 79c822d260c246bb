"""Charset and header decoding for inbound mail. Nothing here raises on bad input.

Order of attempts for a body or header: the declared charset (through a table of aliases and
supersets: mail clients routinely declare ``iso-8859-1`` and send ``cp1252``), then the guess
list (default: utf-8, windows-1250, iso-8859-2, cp1252), then utf-8 with replacement characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
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


# ---- legacy East Asian text, labelled wrong or not at all --------------------------------
_CJK_CODECS = ("gb18030", "cp932", "big5hkscs", "euc_jp", "cp949")  # ties go to the first
_LANGUAGE = {"gb18030": "Chinese", "big5hkscs": "Chinese", "cp932": "Japanese",
             "euc_jp": "Japanese", "cp949": "Korean"}
_HIGH_PAIR = re.compile(rb"[\x81-\xfe][\x40-\x7e\x80-\xfe]")  # a lead byte and its trail
_CJK_CHAR = re.compile("[\u3000-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
                       "\uff01-\uff60]")  # not the half-width katakana: Latin letters read so
_KANA = re.compile("[\u3040-\u30ff]")
_SPACED_CJK = re.compile("[\u3400-\u9fff\uac00-\ud7af] [\u3400-\u9fff\uac00-\ud7af]")
# Letters and punctuation of Czech, Slovak, German, Polish, Hungarian and the West European
# languages cp1252 is for: what single-byte mail text is made of.
_EUROPEAN = frozenset(
    "áäčďéěíĺľňóôöŕřšťúůüýžÁÄČĎÉĚÍĹĽŇÓÔÖŔŘŠŤÚŮÜÝŽßąćęłńśźżĄĆĘŁŃŚŹŻőűŐŰàâçèêëîïñùûÿœæ"
    "ÀÂÇÈÊËÎÏÑÙÛŸŒÆ„“”‚‘’–—…€°§«»·×\u00a0©®™")  # noqa: RUF001
# Four non-ASCII letters in a row, or a word of two or three made only of them: not European.
_EUROPEAN_RUN = re.compile(
    "[^\x00-\x7f]{4,}|(?<![^\\s(\\[\"'])[^\x00-\x7f]{2,3}(?![^\\s.,;:!?)\\]\"'])")
# An accented capital right after a small letter ("ązŚn": Big5 read as ISO-8859-2).
_LOWER = "".join(sorted(c for c in _EUROPEAN if c.islower()))
_UPPER = "".join(sorted(c for c in _EUROPEAN if c.isupper()))
_CASE_BREAK = re.compile(f"(?<=[a-z{_LOWER}])[{_UPPER}]")
# Quotes, dashes and signs glued between two letters or signs ("m”F", "–{", "‚Ì"): Shift_JIS  # noqa: RUF003
# read as a single-byte charset. European text has them next to a space, a digit or a stop.
_NOT_GLUE = "\\s\\d.,;:!?()\\[\\]\"'"
_GLUED = re.compile(f"(?<=[^{_NOT_GLUE}])[„“”‚‘–—…«»·×°§©®™€](?=[^{_NOT_GLUE}])")  # noqa: RUF001


def _european_oddness(data: bytes, codecs: Sequence[str], *, runs: bool = True) -> float:
    """How far ``data`` is from Central or West European text in each of ``codecs``: the share
    of its non-ASCII characters that are not letters and punctuation of those languages, stand
    in runs of four or in words made only of them, or sit where European text has none (an
    accented capital inside a word, a quote glued between letters). European words carry one
    or two between ASCII letters; CJK text is runs of two-byte characters. The best reading
    counts."""
    best = 1.0
    for codec in codecs:
        text = data[:_SAMPLE_BYTES].decode(codec, "replace")
        other = sum(1 for ch in text if ord(ch) > 0x7F)
        # a sign such as ˛ ¦ ± counts twice: in European text it is rarer still than a letter  # noqa: RUF003
        odd = sum(1 if ch.isalpha() else 2 for ch in text
                  if ord(ch) > 0x7F and ch not in _EUROPEAN)
        if runs:
            odd += sum(len(run) for run in _EUROPEAN_RUN.findall(text))
        odd += len(_GLUED.findall(text)) + len(_CASE_BREAK.findall(text))
        best = min(best, odd / max(other, 1))
        if not best:
            break
    return best


def _frequent(language: str) -> frozenset[str]:
    from charset_normalizer.constant import FREQUENCIES

    return frozenset(FREQUENCIES.get(language, ()))


_FREQUENT: dict[str, frozenset[str]] = {}


def _cjk_score(text: str, codec: str) -> float | None:
    """How likely ``text`` is the real reading in ``codec``: None unless its non-ASCII
    characters are nearly all CJK; else the share of the language's most frequent characters
    (and kana, for Japanese) among them, plus half the share of the standard's first-level
    characters, marked up or down by spaces between words and by kana."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    cjk = [ch for ch in wide if _CJK_CHAR.match(ch)]
    if len(cjk) < 2 or len(cjk) * 10 < len(wide) * 9:
        return None
    language = _LANGUAGE[codec]
    if language not in _FREQUENT:
        _FREQUENT[language] = _frequent(language)
    frequent = _FREQUENT[language]
    japanese = language == "Japanese"
    kana = sum(1 for ch in cjk if _KANA.match(ch))
    hits = sum(1 for ch in cjk if ch in frequent) + (kana if japanese else 0)
    first_level = sum(1 for ch in cjk if _first_level(ch, codec))
    score = (hits + first_level / 2) / len(cjk)
    if _SPACED_CJK.search(text):  # Korean puts spaces between words; Chinese, Japanese do not
        score = score + 0.5 if language == "Korean" else score / 2
    # Japanese writes its particles in kana; Chinese and Korean have none
    return score / 2 if japanese != (kana > 0) else score


# The common characters of each standard: GB2312 level 1, Big5 frequent, JIS level 1 (and
# kana), the hangul of KS X 1001, as (codec, first byte range).
_FIRST_LEVEL = {"gb18030": ("gb2312", 0xB0, 0xD7), "big5hkscs": ("big5", 0xA4, 0xC6),
                "cp932": ("euc_jp", 0xA4, 0xCF), "euc_jp": ("euc_jp", 0xA4, 0xCF),
                "cp949": ("euc_kr", 0xB0, 0xC8)}


def _first_level(ch: str, codec: str) -> bool:
    standard, low, high = _FIRST_LEVEL[codec]
    try:
        lead = ch.encode(standard)[0]
    except UnicodeEncodeError:
        return False
    return low <= lead <= high


def _cjk_reading(data: bytes, declared: str | None) -> str | None:
    """Unlabelled or mislabelled 8-bit text in GB2312/GBK/GB18030, Big5, Shift_JIS, EUC-JP or
    EUC-KR, decoded; None when it is not (the cheap checks first: runs of high bytes, then a
    European reading, then the CJK codecs that decode it cleanly into CJK text, ranked by their
    language's frequent characters; charset-normalizer for longer text)."""
    if not _HIGH_PAIR.search(data):
        return None
    # European text has a high byte here and there; CJK text is dense with them
    sample = data[:_SAMPLE_BYTES]
    sparse = (len(sample) - len(sample.translate(None, _HIGH_BYTES))) * 10 < len(sample) * 3
    if sparse and len(data) > _SHORT and not _HIGH_RUN.search(sample):
        return None
    # a label is believed unless its own reading is implausible; no label: any of the three
    oddness = _european_oddness(data, (declared,) if declared else _EUROPEAN_CODECS)
    if oddness <= _CLEARLY_EUROPEAN and (sparse or len(data) > _SHORT):
        return None
    if declared and not _HIGH_RUN.search(data):
        # a label is overruled only by runs of two-byte characters: European letters in their
        # own charset ("aÁaÁa") read as Big5 or Shift_JIS with ASCII trail bytes too
        return None
    readings: dict[str, tuple[float, str]] = {}
    for codec in _CJK_CODECS:
        text = _try(data, codec)
        score = None if text is None else _cjk_score(text, codec)
        if text is not None and score is not None:
            readings[codec] = (score, text)
    if not readings:
        return None
    ranked = sorted(readings.values(), key=lambda reading: reading[0], reverse=True)
    # Text that would also pass as European needs a reading full of frequent characters; a
    # short string that reads as clean European text (a subject, a name) even more so.
    if oddness <= _CLEARLY_EUROPEAN and (ranked[0][0] < _UNMISTAKABLY_CJK
                                         or _CJK_IN_WORD.search(ranked[0][1])):
        return None
    if oddness <= _ODD_EUROPEAN and ranked[0][0] < _CLEARLY_CJK:
        return None
    if declared and ranked[0][0] < _UNMISTAKABLY_CJK and _european_oddness(
            data, (declared,), runs=False) <= _ODD_EUROPEAN:
        # under a label, letters that only stand in a row ("ÁÁÁÁ" is GB2312 亮亮) stay
        return None
    if len(ranked) > 1 and ranked[0][0] == ranked[1][0] and len(data) >= _NORMALIZER_MIN_BYTES:
        import charset_normalizer

        best = charset_normalizer.from_bytes(data, cp_isolation=list(readings)).best()
        chosen = normalise_charset(best.encoding) if best is not None else None
        if chosen in readings:
            return readings[chosen][1]
    return max(readings.values(), key=lambda reading: reading[0])[1]


_CLEARLY_EUROPEAN = 0.15
_ODD_EUROPEAN = 0.5
_CLEARLY_CJK = 0.3
_UNMISTAKABLY_CJK = 0.75
# An ideograph or hangul inside a Latin word ("柃kujeme"): a European letter misread.
_CJK_IN_WORD = re.compile("[\u3400-\u9fff\uac00-\ud7af][a-z]|[a-z][\u3400-\u9fff\uac00-\ud7af]")
_SHORT = 200  # bytes: a header value or a file name
_NORMALIZER_MIN_BYTES = 200
_EUROPEAN_CODECS = ("cp1250", "cp1252", "iso8859-2")
_SAMPLE_BYTES = 4096  # of a long body, the European checks read the start
_HIGH_BYTES = bytes(range(0x80, 0x100))
_HIGH_RUN = re.compile(rb"[\x80-\xff]{4}")
_CJK_OR_EUROPEAN = frozenset({"utf-8", *_SINGLE_BYTE, *_CJK_CODECS})
_ISO2022_JP = re.compile(rb"\x1b\$[@B]|\x1b\$\(D")


def _iso2022_reading(data: bytes) -> str | None:
    """7-bit ISO-2022-JP text (``ESC $ B`` ... ``ESC ( B``) without its label, decoded."""
    if not _ISO2022_JP.search(data):
        return None
    return _try(data, "iso2022_jp_2")


@functools.lru_cache(maxsize=32)
def _guesses_allow_cjk(guesses: tuple[str, ...]) -> bool:
    return all(normalise_charset(g) in _CJK_OR_EUROPEAN for g in guesses)


def decode_bytes(
    data: bytes, charset: object = None, *, guesses: Sequence[str] = DEFAULT_GUESSES
) -> str:
    """Decode ``data`` as text; declared charset → guesses → utf-8 with replacement."""
    if not data:
        return ""
    declared = normalise_charset(charset)
    # 7-bit data is ASCII unless the charset is one of the 7-bit encodings (or UTF-16/32)
    if data.isascii() and not (declared or "").startswith(_SEVEN_BIT_CODECS):
        if b"\x1b" in data:
            return _iso2022_reading(data) or data.decode("ascii")
        return data.decode("ascii")
    declared = _actual_codec(data, declared)
    if (declared in _SINGLE_BYTE or (declared in {None, "utf-8"}
                                     and _try(data, "utf-8") is None)) and \
            _guesses_allow_cjk(tuple(guesses)):
        # a host that guesses another script (koi8-r ...) gets its guesses first
        text = _cjk_reading(data, declared)
        if text is not None:
            return text
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
        return _iso2022_reading(value.encode("ascii")) or value if "\x1b" in value else value
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
