"""Pathological HTML and text cost a bounded amount of work (issue 12, denial of service).

No test here times anything: they assert on what the sanitiser and the renderer were given
(characters, elements, nesting depth, counted by an independent parser), on tracemalloc's
peak, and on sizes that took minutes to hours before the pre-pass and the linear patterns.
"""

from __future__ import annotations

import base64
import html.parser
import tracemalloc

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helpdesk_core.mail.parser as parser_module
from helpdesk_core.mail import MailLimits, ParsedMail, parse_mail
from helpdesk_core.mail.markup import VOID, bound_html, measure_html, rough_text
from helpdesk_core.mail.parser import _unflow, _Walk
from helpdesk_core.mail.text import html_to_text, new_reply_text, sanitise_html

RAW_TEXT = {"script", "style", "noscript", "iframe", "noembed", "noframes", "textarea", "title",
            "xmp", "plaintext"}
LIMITS = MailLimits(max_bytes=64 * 1024 * 1024)
MB = 1_000_000


class _Counter(html.parser.HTMLParser):
    """The stdlib's tokenizer with a naive stack: exact for HTML whose every element is closed
    explicitly, which is what the pre-pass writes when it rewrites."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.depth = 0
        self.tags = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.tags += 1
        if tag not in VOID:
            self.stack.append(tag)
            self.depth = max(self.depth, len(self.stack))
        if tag in RAW_TEXT:  # text up to its end tag, as in HTML5
            self.set_cdata_mode(tag)

    def handle_startendtag(self, tag: str, attrs: object) -> None:
        self.tags += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass


def counted(html_text: str) -> _Counter:
    counter = _Counter()
    counter.feed(html_text)
    counter.close()
    return counter


def html_mail(html_text: str, *, charset: str = "utf-8") -> bytes:
    body = base64.encodebytes(html_text.encode(charset)).decode("ascii")
    return ("From: Jana <jana@example.cz>\r\nTo: support@shop.example\r\nSubject: HTML\r\n"
            "Message-ID: <html-bounds@example.cz>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/html; charset={charset}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + body).encode("ascii")


@pytest.fixture
def given_html(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """What parse_mail hands to the sanitiser and to the renderer."""
    seen: dict[str, list[str]] = {"sanitiser": [], "renderer": []}

    def sanitise(html_text: str, *, keep_remote_images: bool = False) -> str:
        seen["sanitiser"].append(html_text)
        return sanitise_html(html_text, keep_remote_images=keep_remote_images)

    def render(html_text: str) -> str:
        seen["renderer"].append(html_text)
        return html_to_text(html_text)

    monkeypatch.setattr(parser_module, "sanitise_html", sanitise)
    monkeypatch.setattr(parser_module, "html_to_text", render)
    return seen


def assert_within(html_text: str, limits: MailLimits, *, rewritten: bool = True) -> None:
    assert len(html_text) <= limits.max_html_chars
    shape = measure_html(html_text, max_depth=limits.max_html_depth,
                         max_tags=limits.max_html_tags, max_chars=limits.max_html_chars)
    assert shape.complete, shape
    if not rewritten:  # the stdlib reads unterminated comments and tags unlike HTML5
        return
    counter = counted(html_text)
    assert counter.tags <= limits.max_html_tags
    assert counter.depth <= limits.max_html_depth


def parse_bounded(html_text: str, seen: dict[str, list[str]],
                  limits: MailLimits = LIMITS) -> ParsedMail:
    mail = parse_mail(html_mail(html_text), limits=limits)
    assert mail.quarantine_reason is None
    assert mail.html_original == html_text  # kept whole as evidence
    assert seen["sanitiser"]
    assert seen["renderer"]
    for handed in seen["sanitiser"] + seen["renderer"]:
        assert_within(handed, limits)
    return mail


# -- the shapes of issue 12 --------------------------------------------------------------

def test_deep_nesting_is_flattened(given_html: dict[str, list[str]]) -> None:
    mail = parse_bounded("<div>" * 100_000 + "Hallo" + "</div>" * 100_000, given_html)
    assert "Hallo" in mail.body_text
    assert any("nested deeper than 128" in note for note in mail.truncated)
    assert counted(given_html["sanitiser"][0]).depth == 128


def test_deep_nesting_of_a_million_levels_is_read_only_as_far_as_max_html_chars(
        given_html: dict[str, list[str]]) -> None:
    mail = parse_bounded("<div>" * 1_000_000 + "x", given_html)
    assert any("the first 1000000 rendered" in note for note in mail.truncated)


def test_flat_huge_html_is_cut_at_max_html_chars(given_html: dict[str, list[str]]) -> None:
    html_text = "<p>Dobrý den, <b>ok</b></p>\n" * (5 * MB // 27)
    mail = parse_bounded(html_text, given_html)
    assert mail.body_text.startswith("Dobrý den, ok")
    assert any(f"HTML of {len(html_text)} characters" in note for note in mail.truncated)
    assert any("more than 50000 elements" in note for note in mail.truncated)


def test_many_attributes(given_html: dict[str, list[str]]) -> None:
    attributes = " ".join(f'data-a{i}="{i}"' for i in range(100_000))
    parse_bounded(f"<div {attributes}>text</div>" * 2, given_html)


def test_unclosed_tags(given_html: dict[str, list[str]]) -> None:
    mail = parse_bounded('<div><span><a href="https://x.example/">Link' * 60_000, given_html)
    assert "Link" in mail.body_text


def test_comment_and_cdata_bombs(given_html: dict[str, list[str]]) -> None:
    html_text = ("<!--" * 200_000 + "-->" + "<![CDATA[" * 100_000 + "<p>after</p>"
                 + "<!-- unterminated" * 50_000)
    parse_bounded(html_text, given_html)


def test_table_nesting(given_html: dict[str, list[str]]) -> None:
    mail = parse_bounded("<table><tr><td>cell" * 40_000, given_html)
    assert "cell" in mail.body_text


def test_entity_bomb_is_text(given_html: dict[str, list[str]]) -> None:
    entities = "".join(f'<!ENTITY e{i} "&e{i - 1};&e{i - 1};&e{i - 1};&e{i - 1};">'
                       for i in range(1, 30))
    html_text = f'<!DOCTYPE html [<!ENTITY e0 "boom">{entities}]><p>&e29;</p>' + "&amp;" * 200_000
    tracemalloc.start()
    try:
        mail = parse_bounded(html_text, given_html)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "boomboom" not in mail.body_text
    assert peak < 100 * MB


def test_reconstructed_formatting_counts_as_elements(given_html: dict[str, list[str]]) -> None:
    # html5ever re-creates the 100 formatting elements that </p> closed in every paragraph:
    # 161 KB became 14 MB of sanitised output before the pre-pass counted them
    opening = "".join(f'<b class="c{i}">' for i in range(100))
    mail = parse_bounded(f"<p>{opening}</p>" + "<p>x</p>" * 20_000, given_html)
    assert mail.body_html is not None
    assert len(mail.body_html) < 2 * MB


def test_many_html_parts_share_one_allowance(given_html: dict[str, list[str]]) -> None:
    # depth does not add up across parts, nor do characters and elements
    part = base64.encodebytes(("<div>" * 100 + "x" + "<p>y</p>" * 2000).encode()).decode()
    parts = "".join(f"--B\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n"
                    f"\r\n{part}\r\n" for _ in range(100))
    raw = ("From: jana@example.cz\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=B\r\n\r\n" + parts + "--B--\r\n").encode()
    mail = parse_mail(raw, limits=attrs.evolve(LIMITS, time_budget_s=600.0))
    assert len(mail.truncated) <= 3  # said once for all the parts
    assert len(given_html["sanitiser"]) == 1
    assert_within(given_html["sanitiser"][0], LIMITS)
    assert sum(len(h) for h in given_html["renderer"]) <= LIMITS.max_html_chars
    assert sum(counted(h).tags for h in given_html["renderer"]) <= LIMITS.max_html_tags


def test_smaller_limits_are_obeyed(given_html: dict[str, list[str]]) -> None:
    limits = MailLimits(max_html_depth=8, max_html_tags=100, max_html_chars=5000)
    mail = parse_bounded("<div><p>Hello <i>there</i></p>" * 500, given_html, limits)
    assert mail.body_text.startswith("Hello there")


def test_memory_of_a_flat_20_mb_mail_is_bounded() -> None:
    raw = html_mail("<p>hello <b>world</b> and more</p>\n" * (20 * MB // 36))
    tracemalloc.start()
    try:
        parse_mail(raw, limits=LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the decoded copies of the mail itself, and a fixed amount for what is rendered
    assert peak < 40 * MB + 12 * len(raw)


def test_the_time_budget_is_checked_before_each_step(given_html: dict[str, list[str]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Walk, "spent", lambda self: True)  # spent once the walk is done
    mail = parse_mail(html_mail("<p>Hello <b>world</b></p><p>Quoted</p>"))
    assert mail.body_html is None  # not sanitised once the budget is spent
    assert given_html["sanitiser"] == []
    assert given_html["renderer"] == []
    assert "Hello world" in mail.body_text  # the plain rendering
    assert any("not sanitised" in note for note in mail.truncated)
    assert mail.new_text == mail.body_text  # quoted history not cut either


# -- properties --------------------------------------------------------------------------

TOKENS = st.sampled_from([
    "<div>", "</div>", "<p>", "</p>", "<b>", "</b>", "<i class='x'>", "</i>", "<td>", "<tr>",
    "<table>", "</table>", "<li>", "<ul>", "<br>", "<img src=cid:a>", "<script>", "</script>",
    "<style>", "</style>", "<!--", "-->", "<![CDATA[", "]]>", "<!DOCTYPE html>", "<a href='",
    "'>", "<svg>", "<path/>", "</svg>", "<textarea>", "</textarea>", "<plaintext>", "text",
    " ", "\n", "&amp;", "&", "<", ">", '"', "</", "<?x", "<font color=red>", "</font>",
    "<title>", "</title>",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=200), st.integers(1, 12), st.integers(1, 60),
       st.integers(1, 400))
def test_the_pre_pass_output_is_within_the_limits(tokens: list[str], depth: int, tags: int,
                                                  chars: int) -> None:
    source = "".join(tokens)
    bounded = bound_html(source, max_depth=depth, max_tags=tags, max_chars=chars)
    limits = MailLimits(max_html_depth=depth, max_html_tags=tags, max_html_chars=chars)
    assert_within(bounded.html, limits, rewritten=bounded.changed)
    assert bounded.tags <= tags
    if not bounded.changed:
        assert bounded.html == source


ORDINARY = st.lists(st.sampled_from([
    "<p>", "</p>", "<b>", "</b>", "<br>", "<div>", "</div>", "<ul><li>a</li><li>b</li></ul>",
    "<table><tr><td>1</td><td>2</td></tr></table>", "Grüße", "Dobrý den", " ", "\n",
    "<a href='https://shop.example/'>Shop</a>", "&nbsp;", "<img src='cid:logo'>",
    "<span style='color:red'>", "</span>", "<script>alert(1)</script>", "<!-- c -->",
]), max_size=60).map("".join)


@settings(max_examples=200, deadline=None)
@given(ORDINARY)
def test_small_ordinary_html_is_handled_as_before(source: str) -> None:
    assert bound_html(source, max_depth=128, max_tags=50_000, max_chars=1_000_000).html is source
    mail = parse_mail(html_mail(f"<html><body>{source}</body></html>"))
    expected = f"<html><body>{source}</body></html>"
    assert mail.body_html == sanitise_html(expected)
    assert mail.body_text == html_to_text(expected).replace("\r\n", "\n").strip("\n")
    assert mail.truncated == ()


def test_rough_text_is_plain_text() -> None:
    assert rough_text("<p>a &amp; b</p><script>x()</script><div>c<br>d</div>") == "a & b\n\nc\nd"
    assert rough_text("<script>" * 100_000) == ""


# -- the other steps that grew faster than their input -----------------------------------

def test_quote_stripping_of_many_quote_lines() -> None:
    # 8 KB of "> " lines took 12 s; 200 KB (the input cap) would have taken hours
    assert new_reply_text("Answer\n" + ">\n" * 100_000) == "Answer"
    assert new_reply_text("> > \n" * 50_000 + "\n \n" * 50_000)


def test_format_flowed_paragraph_of_many_lines() -> None:
    text = "word \n" * 300_000 + "end"
    assert _unflow(text, delete_space=False) == "word " * 300_000 + "end"
    assert _unflow(text, delete_space=True) == "word" * 300_000 + "end"


def test_many_uuencode_begin_lines_without_end() -> None:
    # 1 MB of "begin 644 a" lines took 633 s
    raw = (b"From: jana@example.cz\r\nSubject: uu\r\nContent-Type: text/plain\r\n\r\n"
           + b"begin 644 a\n" * 100_000)
    mail = parse_mail(raw, limits=LIMITS)
    assert mail.attachments == ()
    assert mail.body_text.startswith("begin 644 a")


def test_thousands_of_headers_and_addresses() -> None:
    headers = "".join(f"X-Trace-{i}: hop {i}\r\n" for i in range(8000))
    to = "To: " + ", ".join(f"u{i}@shop.example" for i in range(5000)) + "\r\n"
    raw = (f"From: jana@example.cz\r\n{to}{headers}Subject: many\r\n\r\nhi\r\n").encode()
    mail = parse_mail(raw, limits=LIMITS)
    assert mail.body_text == "hi"
    assert len(mail.to) == 5000
