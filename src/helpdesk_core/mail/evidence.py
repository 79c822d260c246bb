"""What an article keeps of a mail: its text and subject within the library's limits.

Mail is evidence. A customer's mail is never refused because it is longer than what an article
shows or because it has no text at all; the limits below bound what the *library* writes on
the article (for display and search), and what they cut is recorded and kept elsewhere:

* the **text** on the article is at most :data:`MAX_TEXT` characters (the limit of a new
  request from any channel). A longer text is cut with a note of how much more there was; the
  whole text is stored as a blob (``ParsedMail``'s text, UTF-8) named by the article's
  ``text_blob``;
* the **subject** of the article and of a ticket the mail opens is at most :data:`MAX_SUBJECT`
  characters; a longer one is cut with ``…`` and kept whole in the article's ``subject``;
* a **display name** that becomes a contact's name is at most :data:`MAX_NAME` characters;
* a mail **without text** (a scanner's PDF, an image-only HTML mail) gets a text that says so
  and lists what is attached: ``(no text; attached: scan.pdf (184 KB))``.

What the parser left out to stay within its :class:`~helpdesk_core.mail.MailLimits` (header
fields of an oversized header section, MIME parts past the limits of count, depth or time) is
recorded the same way. The raw bytes are always stored too (``raw_blob``): every header and
part as it arrived.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from helpdesk_core.domain.article import MAX_SUBJECT, Cut, excerpt
from helpdesk_core.domain.intake import MAX_MESSAGE
from helpdesk_core.mail.parsed import ParsedAttachment, ParsedMail

__all__ = ["MAX_LISTED", "MAX_NAME", "MAX_SUBJECT", "MAX_TEXT", "MailText", "attachment_list",
           "mail_text"]

MAX_TEXT = MAX_MESSAGE
MAX_NAME = 200
MAX_LISTED = 50  # attachments named in the text of a mail without text
_WHOLE = 1 << 60


@attrs.frozen
class MailText:
    """The fields an article of ``mail`` gets, each within its limit.

    ``body`` is the text (or an excerpt of it, or what is attached when there is no text);
    ``full_text`` is the whole text when ``body`` is an excerpt, else None; ``full_subject``
    likewise for ``subject``. ``cuts`` records every value that was cut, with its length;
    ``unread`` what the parser left out to stay within its limits (``ParsedMail.truncated``).
    """

    body: str
    subject: str
    from_name: str
    full_text: str | None = None
    full_subject: str | None = None
    cuts: tuple[Cut, ...] = ()
    unread: tuple[str, ...] = ()

    @property
    def cut_note(self) -> str:
        """``cuts`` and ``unread`` in one line (``"text: 99974 of 2345678 characters kept;
        more than 500 MIME parts: the first 500 were read"``); empty when nothing was cut."""
        return "; ".join([*(str(cut) for cut in self.cuts), *self.unread])


def mail_text(mail: ParsedMail) -> MailText:
    """The article's text, subject and sender name for ``mail``; never raises."""
    cuts: list[Cut] = []
    text, cut = excerpt(mail.body_text, limit=MAX_TEXT, what="text")
    full_text = None
    if cut is not None:
        cuts.append(cut)
        full_text = excerpt(mail.body_text, limit=_WHOLE, what="text")[0]
    if not text:
        text, _ = excerpt(attachment_list(mail.attachments), limit=MAX_TEXT, what="text")
    # The parser keeps 1000 characters of the subject for threading; the header holds it all.
    whole_subject = mail.header("Subject") or mail.subject
    subject, cut = excerpt(whole_subject, limit=MAX_SUBJECT, what="subject", line=True)
    full_subject = None
    if cut is not None:
        cuts.append(cut)
        full_subject = excerpt(whole_subject, limit=_WHOLE, what="subject", line=True)[0]
    from_name, cut = excerpt(mail.from_name, limit=MAX_NAME, what="sender name", line=True)
    if cut is not None:
        cuts.append(cut)
    return MailText(body=text, subject=subject, from_name=from_name, full_text=full_text,
                    full_subject=full_subject, cuts=tuple(cuts), unread=mail.truncated)


def attachment_list(attachments: Sequence[ParsedAttachment]) -> str:
    """The text of a mail without text: ``(no text; attached: scan.pdf (184 KB), ...)``."""
    if not attachments:
        return "(no text)"
    named = [f"{a.filename} ({_size(a.size)})" for a in attachments[:MAX_LISTED]]
    more = len(attachments) - len(named)
    if more:
        named.append(f"and {more} more")
    return f"(no text; attached: {', '.join(named)})"


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"
