"""Legacy East Asian charsets labelled wrong or not at all: raw 8-bit GB2312/GBK/GB18030,
Big5, Shift_JIS, EUC-JP and EUC-KR in subjects, display names, file names and bodies, and
ISO-2022-JP escape sequences without a label. Czech, German and Slovak text in its single-byte
charsets is never read as CJK."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpdesk_core.mail import parse_mail
from helpdesk_core.mail.decode import decode_bytes

# Words a helpdesk sees, per language and the encodings that carry it.
WORDS = {
    "zh-hans": ["您好", "发票", "订单", "我们", "公司", "退款", "客户", "服务", "问题", "的",
                "是", "不", "在", "有", "这个", "时间", "已经", "发货", "地址", "谢谢"],
    "zh-hant": ["您好", "發票", "訂單", "我們", "公司", "退款", "客戶", "服務", "問題", "的",
                "是", "不", "在", "有", "這個", "時間", "已經", "發貨", "地址", "謝謝"],
    "ja": ["お客様", "アカウント", "確認", "ご注文", "ありがとうございます", "の", "を", "に",
           "です", "ます", "商品", "発送", "お問い合わせ", "日本", "時間", "会社", "メール"],
    "ko": ["안녕하세요", "주문", "확인", "고객님", "배송", "감사합니다", "문의", "상품", "의",
           "이", "는", "을", "에서", "회사", "시간", "있습니다"],
}
ENCODINGS = {"zh-hans": ["gb2312", "gbk", "gb18030"], "zh-hant": ["big5"],
             "ja": ["shift_jis", "euc-jp"], "ko": ["euc-kr"]}
_HIGH_RUN = re.compile(rb"[\x80-\xff]{4}")
CASES = [(lang, enc) for lang, encs in ENCODINGS.items() for enc in encs]


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _KANA_WORD(word: str) -> bool:  # noqa: N802
    return any("\u3040" <= ch <= "\u30ff" for ch in word)


def _gb_lookalike(word: str) -> bool:
    """A Big5 word whose bytes are GB2312 level-1 text too (謝 C1C2 is 谅 there)."""
    try:
        return word.encode("big5").decode("gb2312") is not None
    except UnicodeDecodeError:
        return False


@st.composite
def phrase(draw: st.DrawFn, lang: str) -> str:
    words = draw(st.lists(st.sampled_from(WORDS[lang]), min_size=2, max_size=8))
    if lang == "zh-hant" and (all(_gb_lookalike(w) for w in words)
                              or not _HIGH_RUN.search("".join(words).encode("big5"))):
        # known limits: Big5 text made only of such words is GB2312 text as well; Big5 whose
        # characters all have ASCII trail bytes reads as ISO-8859-2 letters too (是是: "ŹOŹO",
        # 發貨: "ľołf")
        words.append("我們")
    if lang == "ja" and not any(_KANA_WORD(w) for w in words):
        # known limit: kanji alone in Shift_JIS is also plausible windows-1252 ("Šm”F")
        words.append("です")
    return (" " if lang == "ko" else "").join(words)


def _mail(subject: bytes, name: bytes, body: bytes, filename: bytes, *,
          charset: bytes | None, rfc2231: bool) -> bytes:
    label = b"; charset=" + charset if charset else b""
    if rfc2231:  # RFC 2231 without a charset: the bytes percent-encoded
        disposition = b"attachment; filename*=''" + b"".join(b"%%%02X" % c for c in filename)
    else:
        disposition = b'attachment; filename="' + filename + b'"'
    return (b"From: " + name + b" <li@spam.example>\nTo: support@shop.example\n"
            b"Subject: " + subject + b"\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=b1\n\n--b1\n"
            b"Content-Type: text/plain" + label + b"\nContent-Transfer-Encoding: 8bit\n\n"
            + body + b"\n--b1\nContent-Type: application/pdf\nContent-Disposition: "
            + disposition + b"\nContent-Transfer-Encoding: base64\n\n"
            + base64.b64encode(b"%PDF-1.4") + b"\n--b1--\n")


def _check_raw(lang: str, encoding: str, data: st.DataObject, label: bytes | None,
               rfc2231: bool) -> None:
    subject, name, body, stem = (data.draw(phrase(lang)) for _ in range(4))
    assume(not any(_valid_utf8(t.encode(encoding)) for t in (subject, name, body, stem)))
    if label is not None:  # known limit: under a label, only runs of high bytes overrule it
        assume(all(_HIGH_RUN.search(t.encode(encoding)) for t in (subject, name, body, stem)))
    raw = _mail(subject.encode(encoding), name.encode(encoding), body.encode(encoding),
                stem.encode(encoding) + b".pdf", charset=label, rfc2231=rfc2231)
    mail = parse_mail(raw)
    fields = [(mail.subject, subject), (mail.from_name, name), (mail.body_text, body),
              (mail.attachments[0].filename, stem + ".pdf")]
    if label is None:
        assert [got for got, _ in fields] == [want for _, want in fields]
    else:
        assert all(_either(got, want) for got, want in fields), fields


_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _either(got: str, want: str) -> bool:
    """Under a wrong single-byte label the bytes of a few frequent characters can read two
    ways (docs/explanation/mail-decoding.md: 退款服务 or 'ÍË¿î·þÎñ'): the text, or the label's
    reading with no CJK in it — never a mix of the two."""
    return got == want or not _CJK.search(got)


@pytest.mark.parametrize(("lang", "encoding"), CASES)
@pytest.mark.parametrize("label", [None, b"iso-8859-1", b"us-ascii"])
@settings(max_examples=25, deadline=None)
@given(data=st.data(), rfc2231=st.booleans())
def test_raw_cjk_in_every_field_decodes(lang: str, encoding: str, label: bytes | None,
                                        data: st.DataObject, rfc2231: bool) -> None:
    _check_raw(lang, encoding, data, label, rfc2231)


@pytest.mark.parametrize(("lang", "encoding"), CASES)
@settings(max_examples=25, deadline=None)
@given(data=st.data(), label=st.sampled_from(["iso-8859-1", "windows-1252", "utf-8"]))
def test_mislabelled_encoded_words_decode(lang: str, encoding: str, data: st.DataObject,
                                          label: str) -> None:
    subject = data.draw(phrase(lang))
    assume(not _valid_utf8(subject.encode(encoding)))  # known limit: 谢谢 is D0BB D0BB, "лл"
    assume(_HIGH_RUN.search(subject.encode(encoding)))
    word = base64.b64encode(subject.encode(encoding)).decode()
    raw = (f"From: a@spam.example\nSubject: =?{label}?B?{word}?=\n\nx\n").encode()
    assert _either(parse_mail(raw).subject, subject)


@settings(max_examples=50, deadline=None)
@given(phrase("ja"), phrase("ja"), st.booleans())
def test_iso2022jp_without_a_label(subject: str, body: str, labelled_ascii: bool) -> None:
    label = b"Content-Type: text/plain; charset=us-ascii\n" if labelled_ascii else b""
    raw = (b"From: a@spam.example\nSubject: " + subject.encode("iso2022_jp") + b"\n" + label
           + b"\n" + body.encode("iso2022_jp") + b"\n")
    mail = parse_mail(raw)
    assert mail.subject == subject
    assert mail.body_text == body


CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy, říše příští, ŘÍŠE, čtvrť, dcera"
SLOVAK = "Ďakujeme, ľúbostný list, päť, ôsmy, Ľubica Šťastná, ŠŤASTNÁ, vŕba"
GERMAN = "Grüße aus Köln, Straße, Äpfel, Öl, Übermaß, „Zitat“ – 5 €"  # noqa: RUF001
EUROPEAN = {"cs": (CZECH, ["iso-8859-2", "windows-1250", "utf-8"]),
            "sk": (SLOVAK, ["iso-8859-2", "windows-1250", "utf-8"]),
            "de": (GERMAN, ["cp1252", "utf-8"])}


@st.composite
def european(draw: st.DrawFn) -> tuple[str, str]:
    lang = draw(st.sampled_from(sorted(EUROPEAN)))
    text, encodings = EUROPEAN[lang]
    words = text.replace(",", "").split()
    chosen = draw(st.lists(st.sampled_from(words), min_size=1, max_size=12))
    return " ".join(chosen), draw(st.sampled_from(encodings))


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


@settings(max_examples=400, deadline=None)
@given(european(), st.booleans())
def test_european_text_is_never_read_as_cjk(sample: tuple[str, str], labelled: bool) -> None:
    text, encoding = sample
    data = text.encode(encoding)
    decoded = decode_bytes(data, encoding if labelled else None)
    assert not _is_cjk(decoded)
    if labelled:
        assert decoded == text


@pytest.mark.parametrize(("text", "encoding"), [
    (CZECH, "iso-8859-2"), (CZECH, "windows-1250"), (SLOVAK, "iso-8859-2"),
    (SLOVAK, "windows-1250"), (GERMAN, "cp1252"), (CZECH, "utf-8"), (GERMAN, "utf-8")])
def test_european_mail_decodes_exactly(text: str, encoding: str) -> None:
    name = "Jürgen Groß" if encoding == "cp1252" else "Štěpán"
    raw = (f"From: =?{encoding}?Q?{''.join(f'={b:02X}' for b in name.encode(encoding))}?= "
           f"<s@example.cz>\nSubject: {text}\nContent-Type: text/plain; charset={encoding}\n"
           "\n").encode(encoding) + text.encode(encoding) + b"\n"
    mail = parse_mail(raw)
    assert (mail.from_name, mail.subject, mail.body_text) == (name, text, text)
