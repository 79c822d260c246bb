"""HTML sanitising, HTML → text, and cutting a reply down to what is new in it."""

from __future__ import annotations

import re

import nh3
from inscriptis import get_text
from mailparser_reply import EmailMessage

from helpdesk_core.mail.markup import rough_text

__all__ = ["REPLY_LANGUAGES", "html_to_text", "new_reply_text", "sanitise_html"]

#: mail-parser-reply knows en, de and cs (and others, but no sk); Slovak and the Outlook
#: header blocks of all four languages are cut by the patterns below before it runs.
REPLY_LANGUAGES: tuple[str, ...] = ("en", "de", "cs")

_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_MAX_REPLY_INPUT = 200_000
_MAX_LIBRARY_INPUT = 20_000
_MAX_RENDER_INPUT = 1_000_000


def sanitise_html(html: str, *, keep_remote_images: bool = False) -> str:
    """Scripts, event handlers, ``javascript:`` URLs and (by default) remote images removed;
    ``cid:`` images kept."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            url = value.strip().lower()
            if url.startswith("cid:"):
                return value
            if keep_remote_images and url.startswith(("https:", "http:")):
                return value
            return None
        return value

    try:
        return nh3.clean(
            html,
            url_schemes=_URL_SCHEMES,
            attribute_filter=keep,
            strip_comments=True,
            link_rel="noopener noreferrer nofollow",
        )
    except Exception:  # one scan per "<": linear however many "<" lack a ">"
        return nh3.clean(re.sub(r"<[^<>]*+>", " ", html)) if html else ""


_BLANK_RUNS = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of an HTML body (rendered by inscriptis).

    Lines are stripped: inscriptis indents everything inside a ``<div>`` (Outlook wraps the
    whole body in one) and turns ``&nbsp;`` paragraphs into blank-looking lines; runs of
    blank lines become one.
    """
    if not html.strip():
        return ""
    if len(html) > _MAX_RENDER_INPUT:  # inscriptis takes seconds per megabyte
        return rough_text(html)
    try:
        text = str(get_text(html))
    except Exception:
        return rough_text(html)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


_HEADER_NAMES = (
    r"From|Sent|To|Subject|Date|Cc|Von|Gesendet|An|Betreff|Datum|Od|Odesláno|Odoslané"
    r"|Komu|Předmět|Predmet|Kopie|Kópia|Return-Path|Reply-To|Antwort an"
)
# Quote prefixes are matched within a line and possessively: "[>\s]*" spanned lines and gave
# characters back, so a text of many ">" lines took time with the square of its length.
_HEADER_LINE = re.compile(rf"^[> \t]*+\**(?:{_HEADER_NAMES})\**\s*:", re.IGNORECASE)
_FROM_LINE = re.compile(r"^[> \t]*+\**(?:From|Von|Od)\**\s*:", re.IGNORECASE)
_SEPARATORS = re.compile(
    r"^[> \t]*+(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Původní zpráva"
    r"|Pôvodná správa|Forwarded message|Weitergeleitete Nachricht|Přeposlaná zpráva"
    r"|Preposlaná správa|Původní e-mail|Pôvodný e-mail|Original-Nachricht"
    r"|Originalnachricht|Message d'origine)\s*-{2,}"
    r"|Dňa\s.{1,200}?\snapísal(?:\(a\)|a)?\s*:"
    r"|Dne\s.{1,200}?\snapsal(?:\(a\)|a)?\s*:"
    r"|Am\s.{1,200}?\sschrieb\s.{1,200}?:"
    r"|On\s.{1,200}?\swrote\s*:"
    r"|Le\s.{1,200}?\sa\s(?:é|e)crit\s*:"
    r"|[^\n>]{1,200}?\s(?:schrieb am|wrote on|napsal(?:\(a\)|a)? dne|napísal(?:\(a\)|a)? dňa)"
    r"\s[^\n]{1,100}:"
    r"|Zitat von\s[^\n]{1,200}:"
    r"|(?:Begin forwarded message|Anfang der weitergeleiteten Nachricht"
    r"|Začátek přeposlané zprávy|Začiatok preposlanej správy)\s*:"
    r"|-{2,}\s[^\n]{1,200}?\s(?:wrote|schrieb|napsal|napísal)\S*\s-{2,}"
    r"|\**(?:From|Von|Od)\**\s*:[^\n]{1,300}?\s\**(?:Sent|Gesendet|Odesláno|Odoslané|Date|Datum)"
    r"\**\s*:[^\n]{0,300}?\s\**(?:Subject|Betreff|Předmět|Predmet)\**\s*:[^\n]*"
    r"|_{20,})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
# "Sent from my iPhone" and friends: a line of its own that ends what the sender wrote.
_MOBILE_SIGNATURE = re.compile(
    r"^[ \t]*(?:(?:Von|Gesendet von|Gesendet mit|Sent from|Sent with|Get|Holen Sie sich"
    r"|Odesláno z|Odeslano z|Odoslané z|Odoslane z|Envoyé de)\b[^\n]{0,60}?"
    r"(?:iPhone|iPad|Android|Galaxy|Samsung|Smartphone|Mobiltelefon|Handy|Outlook|BlackBerry"
    r"|iPhonu|iPadu|telefonu|telefónu|mobilu|Androidu|Outlooku|Mail für Windows"
    r"|Mail for Windows|mobile)\b[^\n]{0,60}"
    r"|Diese Nachricht wurde von meinem [^\n]{1,60} gesendet\.?)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)


def _cut_at_history(text: str) -> str:
    """Cut before the first quoted-history marker: an Outlook header block (From/Sent/To/
    Subject in en, de, cs, sk), an "On ... wrote:" line, or an "Original Message" divider."""
    cut = len(text)
    match = _SEPARATORS.search(text)
    if match:
        cut = match.start()
    lines = text[:cut].split("\n")
    offset = 0
    for index, line in enumerate(lines):
        if _HEADER_LINE.match(line):
            # a header block: From first (Outlook) or among the first lines (GMX and web.de
            # start with "Gesendet:"), with at least two more header lines close by
            block = [line, *[row for row in lines[index + 1:index + 6] if row.strip()][:3]]
            headers = [row for row in block if _HEADER_LINE.match(row)]
            if len(headers) >= 3 and any(_FROM_LINE.match(row) for row in headers):
                cut = offset
                break
        offset += len(line) + 1
    match = _SIGNATURE.search(text, 0, cut)
    if match:
        cut = match.start()
    match = _MOBILE_SIGNATURE.search(text, 0, cut)
    if match and text[:match.start()].strip():
        cut = match.start()
    return text[:cut]


_INTRO_HINT = re.compile(r"@|\d{1,2}[.:]\d{2}")
_WRAPPED_INTRO = re.compile(r"\s*(?:On|Am|Dne|Dňa|Le)\s.*\d", re.IGNORECASE)


def _drop_trailing_quotes(text: str) -> str:
    """Trailing ``>`` lines removed, and the line introducing them when it looks like an
    attribution ("30. 11. 2026 v 10:00, Podpora <p@o.cz>:")."""
    lines = text.rstrip().split("\n")
    quoted = False
    while lines and (lines[-1].lstrip().startswith(">") or not lines[-1].strip()):
        quoted = quoted or lines[-1].lstrip().startswith(">")
        lines.pop()
    if (quoted and len(lines) > 1 and lines[-1].rstrip().endswith(":")
            and _INTRO_HINT.search(lines[-1]) and len(lines[-1]) <= 300):
        lines.pop()
        if lines and _WRAPPED_INTRO.match(lines[-1]):  # the attribution wrapped over 2 lines
            lines.pop()
    return "\n".join(lines)


def _without_quotes(text: str) -> str:
    """The text with ``>`` lines removed, together with the attribution line above a quote
    ("On ... wrote:"); unchanged when it has no quoted line or nothing but quotes."""
    lines = text.split("\n")
    if not any(line.lstrip().startswith(">") for line in lines):
        return text
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        following = next((row for row in lines[index + 1:index + 3] if row.strip()), "")
        if following.lstrip().startswith(">") and _SEPARATORS.fullmatch(line):
            continue
        if not line.strip() and kept and not kept[-1].strip():
            continue
        kept.append(line)
    if not any(line.strip() for line in kept):
        return text
    return "\n".join(kept)


def new_reply_text(body_text: str) -> str:
    """What is new in a reply: quoted history, Outlook header blocks and signature removed.

    Falls back to the whole text when the cut would leave nothing (a mail that is all quote).
    """
    text = body_text.replace("\r\n", "\n").replace("\r", "\n")[:_MAX_REPLY_INPUT]
    cut = _drop_trailing_quotes(_cut_at_history(text)).strip()
    if not cut:  # bottom-posted: the history comes first, the answer below it
        cut = _drop_trailing_quotes(_cut_at_history(_without_quotes(text))).strip()
    else:  # answers written between quoted lines
        cut = _without_quotes(cut).strip() or cut
    result = cut
    # The library's header patterns are quadratic on long lines; past these sizes the
    # patterns above do the cutting alone.
    if cut and len(cut) <= _MAX_LIBRARY_INPUT and max(map(len, cut.split("\n"))) <= 400:
        try:
            message = EmailMessage(text=cut, languages=list(REPLY_LANGUAGES),
                                   keep_hyphen_lists=True).read()
            replies = message.replies
            if replies:
                candidate = str(replies[0].body).strip()
                if candidate:
                    result = candidate
        except Exception:
            result = cut
    return result or body_text.strip()
