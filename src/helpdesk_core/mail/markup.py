"""HTML measured and bounded before the expensive steps: the sanitiser and the text renderer.

The sanitiser (nh3, built on html5ever) and the renderer (inscriptis, built on lxml) take time
that grows faster than their input on some HTML: html5ever's time grows with the square of the
nesting depth (100,000 nested ``<div>``, 1.1 MB, took 20-90 s), and formatting elements that a
block closes are re-created at every later piece of text (``<p><b><i>…</p>`` followed by many
paragraphs: 161 KB of HTML became 14 MB of output). :func:`bound_html` makes their input small
enough first, in one linear pass:

* a tokenizer of regular expressions with possessive quantifiers (one match per token, never
  backtracking: an unterminated tag or comment runs to the end of the input, as in HTML5) and
  a model of the tree builder's stack that is cheap (every element pushed and popped once) and
  errs on the deep side: an implied end tag is applied only when its element is the current
  one, and formatting elements closed by a block count again wherever the tree builder would
  re-create them;
* HTML within :class:`~helpdesk_core.mail.MailLimits` (``max_html_depth``, ``max_html_tags``,
  ``max_html_chars``) is passed on unchanged;
* HTML beyond them is rewritten from the same tokens: elements deeper than the limit and every
  element past the tag limit are left out (their text is kept), comments and declarations are
  dropped, every element is closed explicitly (so nothing is re-created), and the output stops
  at ``max_html_chars``. What was cut is said in ``notes``; the raw mail keeps everything.

The standard library's ``html.parser`` is linear too but about five times slower per megabyte
(see docs/explanation/html-budget.md).
"""

from __future__ import annotations

import html as html_module
import re

import attrs

__all__ = ["BoundedHtml", "HtmlShape", "bound_html", "measure_html", "rough_text"]

_ATTRS = (r"(?:[^>\"'=]++|=[\t\n\f\r ]*+(?:\"[^\"]*+(?:\"|\Z)|'[^']*+(?:'|\Z))?+|[\"'])*+")
_TOKEN = re.compile(
    r"<(?:"
    r"!--(?P<comment>>|->|.*?(?:--!?>|\Z))"
    r"|(?P<decl>[!?][^>]*+(?:>|\Z))"
    rf"|/(?P<end>[A-Za-z][^\t\n\f\r />]*+){_ATTRS}(?:>|\Z)"
    r"|(?P<bogus>/[^>]*+(?:>|\Z))"
    rf"|(?P<start>[A-Za-z][^\t\n\f\r />]*+)(?P<attrs>{_ATTRS})(?P<close>>|\Z)"
    r")",
    re.DOTALL,
)
_NAME_LENGTH = 64

VOID = frozenset({"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr",
                  "image", "img", "input", "keygen", "link", "meta", "param", "source",
                  "track", "wbr"})
# Elements whose content is text up to their own end tag; the first four are never shown.
_HIDDEN_TEXT = frozenset({"script", "style", "noscript", "iframe", "noembed", "noframes"})
_RAW_TEXT = _HIDDEN_TEXT | {"textarea", "title", "xmp"}
_FORMATTING = frozenset({"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small",
                         "strike", "strong", "tt", "u"})
_MARKERS = frozenset({"td", "th", "caption", "applet", "marquee", "object", "template"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CLOSES_P = frozenset({
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div",
    "dl", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
    "listing", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "ul",
}) | _HEADINGS
# start tag -> the current elements it ends (applied while the current element is one)
_IMPLIED: dict[str, frozenset[str]] = {
    **{name: frozenset({"p"}) for name in _CLOSES_P},
    **{name: frozenset({"p"}) | _HEADINGS for name in _HEADINGS},
    "li": frozenset({"li", "p"}),
    "dt": frozenset({"dt", "dd", "p"}),
    "dd": frozenset({"dt", "dd", "p"}),
    "option": frozenset({"option"}),
    "optgroup": frozenset({"option", "optgroup"}),
    "tr": frozenset({"tr", "td", "th"}),
    "td": frozenset({"td", "th"}),
    "th": frozenset({"td", "th"}),
    "tbody": frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"}),
    "thead": frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"}),
    "tfoot": frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"}),
}
# Start tags before which the tree builder does not re-create formatting elements.
_NO_RECONSTRUCT = _CLOSES_P | {"li", "dd", "dt", "html", "head", "body", "tbody", "thead",
                               "tfoot", "tr", "td", "th", "caption", "colgroup", "col",
                               "title", "meta", "link", "base", "style", "script", "template"}
# Elements that start a new line in the rough rendering.
_BLOCK = _CLOSES_P | {"br", "li", "dd", "dt", "tr", "td", "th", "caption", "title", "body",
                      "html", "head", "option", "tbody", "thead", "tfoot", "img"}
_RAW_END: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"</{name}(?=[\t\n\f\r />]|\Z)", re.IGNORECASE) for name in _RAW_TEXT
}


@attrs.frozen
class HtmlShape:
    """What the pre-pass measured of some HTML: ``chars`` its length, ``tags`` the elements the
    tree builder would create (start tags, and formatting elements it re-creates), ``depth``
    the deepest nesting; ``complete`` is False when the measurement stopped early (past a
    limit), so the figures are lower bounds."""

    chars: int
    tags: int
    depth: int
    complete: bool = True


@attrs.frozen
class BoundedHtml:
    """The HTML the sanitiser and the renderer get (``html``: the input itself when it was
    within the limits) and the elements in it (``tags``), the ``shape`` of the input as far as
    it was read, and ``notes`` on what was cut (empty when nothing was)."""

    html: str
    tags: int
    shape: HtmlShape
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.notes)


@attrs.define
class _Tree:
    """The model of the tree builder's stack of open elements.

    ``stack`` holds the open elements' names and ``shown`` whether each was written out (when
    rewriting); ``open`` counts open elements by name, so that an end tag without an open
    element is dismissed at once. ``pending`` are formatting elements a block closed, which the
    tree builder re-creates before the next text (entries are ``[name, alive]``; ``markers``
    are positions in it where a table cell or similar began)."""

    stack: list[str] = attrs.Factory(list)
    shown: list[bool] = attrs.Factory(list)
    open: dict[str, int] = attrs.Factory(dict)
    pending: list[list[object]] = attrs.Factory(list)
    pending_by_name: dict[str, list[list[object]]] = attrs.Factory(dict)
    markers: list[int] = attrs.Factory(list)
    tags: int = 0
    depth: int = 0
    shown_depth: int = 0

    def push(self, name: str, shown: bool) -> None:
        self.stack.append(name)
        self.shown.append(shown)
        self.open[name] = self.open.get(name, 0) + 1
        self.shown_depth += shown
        if name in _MARKERS:
            self.markers.append(len(self.pending))
        if len(self.stack) > self.depth:
            self.depth = len(self.stack)

    def pop(self, *, implied: bool) -> tuple[str, bool]:
        name = self.stack.pop()
        shown = self.shown.pop()
        self.open[name] -= 1
        self.shown_depth -= shown
        if name in _MARKERS and self.markers:
            self._clear_to(self.markers.pop())
        elif implied and name in _FORMATTING:
            entry: list[object] = [name, True]
            self.pending.append(entry)
            self.pending_by_name.setdefault(name, []).append(entry)
        return name, shown

    def _clear_to(self, position: int) -> None:
        for entry in self.pending[position:]:
            entry[1] = False
        del self.pending[position:]

    def forget_pending(self, name: str) -> bool:
        """An end tag for a formatting element the tree builder no longer has open."""
        entries = self.pending_by_name.get(name)
        while entries:
            entry = entries.pop()
            if entry[1]:
                entry[1] = False
                return True
        return False

    def reconstruct(self) -> None:
        """The formatting elements a block closed are opened again (not written out)."""
        start = self.markers[-1] if self.markers else 0
        if len(self.pending) <= start:
            return
        for entry in self.pending[start:]:
            if entry[1]:
                entry[1] = False
                self.tags += 1
                self.push(str(entry[0]), False)
        del self.pending[start:]


def _name(raw: str) -> str:
    return raw[:_NAME_LENGTH].lower()


class _Walker:
    """One pass over ``html``: measuring only (``emit`` False; stops at the first limit) or
    rewriting (``emit`` True). One loop with local names: it runs once per token."""

    def __init__(self, html: str, *, max_depth: int, max_tags: int, max_chars: int,
                 emit: bool) -> None:
        self.html = html
        self.max_depth = max_depth
        self.max_tags = max_tags
        self.max_chars = max_chars
        self.emit = emit
        self.tree = _Tree()
        self.out: list[str] = []
        self.out_len = 0
        self.closing = 0  # characters needed to close every element written out
        self.kept_tags = 0
        self.dropped_depth = 0
        self.dropped_count = 0
        self.full = False  # the output reached max_chars
        self.read = 0  # how far the input was read (and written out, when rewriting)
        self.over = False

    # -- output ---------------------------------------------------------------------------
    def write(self, piece: str, *, cut: bool = False) -> int:
        """Append ``piece`` if it fits (with every open element's end tag after it); a text
        (``cut``) is shortened to fit. Returns the characters written; ``full`` is set once
        the output has no more room."""
        room = self.max_chars - self.out_len - self.closing
        if len(piece) > room:
            self.full = True
            if not cut or room <= 0:
                return 0
            piece = piece[:room]
        self.out.append(piece)
        self.out_len += len(piece)
        return len(piece)

    def close(self, implied: bool) -> None:
        name, shown = self.tree.pop(implied=implied)
        if shown:
            self.closing -= len(name) + 3
            self.out.append(f"</{name}>")
            self.out_len += len(name) + 3

    # -- the tokens -----------------------------------------------------------------------
    def run(self) -> None:  # one loop with local names on purpose: it runs once per token
        html, tree, emit = self.html, self.tree, self.emit
        stack, opened = tree.stack, tree.open
        max_depth, max_tags = self.max_depth, self.max_tags
        search, implied_by, raw_end = _TOKEN.search, _IMPLIED.get, _RAW_END
        pos, end = 0, len(html)
        while pos < end:
            match = search(html, pos)
            text_end = match.start() if match is not None else end
            if text_end > pos:
                if emit:
                    kept = self.write(html[pos:text_end], cut=True)
                    if self.full:
                        self.read = pos + kept
                        return self.finish()
                elif tree.pending:  # the rewritten output closes everything itself
                    tree.reconstruct()
                    if tree.tags > max_tags:
                        self.over = True
                        break
            if match is None:
                pos = end
                break
            pos = match.end()
            kind = match.lastgroup
            if kind == "close":  # a start tag
                name = match.group("start")[:_NAME_LENGTH].lower()
                closes = implied_by(name)
                if closes is not None:
                    while stack and stack[-1] in closes:
                        self.close(implied=True)
                if tree.pending and not emit and name not in _NO_RECONSTRUCT:
                    tree.reconstruct()
                tree.tags += 1
                void = name in VOID or (match.group("attrs").endswith("/")
                                        and bool(opened.get("svg") or opened.get("math")))
                show = False
                if emit:
                    show = self.show(name, void, match)
                    if self.full:
                        self.read = match.start()
                        return self.finish()
                if not void:
                    tree.push(name, show)
                if tree.tags > max_tags or tree.depth > max_depth:
                    self.over = True
                    if not emit:
                        break
                if name in _RAW_TEXT or name == "plaintext":
                    found = raw_end[name].search(html, pos) if name != "plaintext" else None
                    until = found.start() if found is not None else end
                    if emit and until > pos and name not in _HIDDEN_TEXT:
                        content = html[pos:until]
                        if not show:
                            content = html_module.escape(content, quote=False)
                        kept = self.write(content, cut=True)
                        if self.full:
                            self.read = pos + kept
                            return self.finish()
                    pos = until
            elif kind == "end":
                name = match.group("end")[:_NAME_LENGTH].lower()
                if opened.get(name):
                    while stack[-1] != name:
                        self.close(implied=True)
                    self.close(implied=False)
                elif name in _FORMATTING:
                    tree.forget_pending(name)
            elif emit:  # a comment or declaration, left out
                self.separate()
        self.read = pos
        if emit:
            self.finish()
        return None

    def show(self, name: str, void: bool, match: re.Match[str]) -> bool:
        """Whether a start tag is written out; a left-out one still separates words."""
        if match.group("close") != ">":  # cut off by the end of the input: dropped (HTML5)
            return False
        if self.kept_tags >= self.max_tags:
            self.dropped_count += 1
        elif not void and self.tree.shown_depth >= self.max_depth:
            self.dropped_depth += 1
        else:
            closing = 0 if void else len(name) + 3
            self.closing += closing
            if self.write(match.group(0)):
                self.kept_tags += 1
                return True
            self.closing -= closing
            return False
        self.separate()
        return False

    def separate(self) -> None:
        """Something left out still separates what was around it (words, and text that
        would otherwise join into markup: ``<`` + a dropped comment + ``!--``)."""
        if self.out and not self.out[-1][-1:].isspace():
            self.write("\n")

    def finish(self) -> None:
        while self.tree.stack:
            self.close(implied=False)


def measure_html(html: str, *, max_depth: int, max_tags: int,
                 max_chars: int | None = None) -> HtmlShape:
    """The shape of ``html`` as the pre-pass sees it; it stops reading at the first limit
    passed (then ``complete`` is False). ``max_chars`` defaults to no limit."""
    limit = len(html) if max_chars is None else max_chars
    if len(html) > limit:
        return HtmlShape(chars=len(html), tags=0, depth=0, complete=False)
    walker = _Walker(html, max_depth=max_depth, max_tags=max_tags, max_chars=limit, emit=False)
    walker.run()
    return HtmlShape(chars=len(html), tags=walker.tree.tags, depth=walker.tree.depth,
                     complete=not walker.over)


def bound_html(html: str, *, max_depth: int, max_tags: int, max_chars: int) -> BoundedHtml:
    """``html`` itself when it is within the limits, else a rewriting of it that is: at most
    ``max_chars`` characters, ``max_tags`` elements and ``max_depth`` levels deep, every
    element closed explicitly. Linear in ``min(len(html), max_chars)``; never raises."""
    shape = measure_html(html, max_depth=max_depth, max_tags=max_tags, max_chars=max_chars)
    if shape.complete:
        return BoundedHtml(html=html, tags=shape.tags, shape=shape)
    walker = _Walker(html[: max_chars], max_depth=max_depth, max_tags=max_tags,
                     max_chars=max_chars, emit=True)
    walker.run()
    tree = walker.tree
    seen = HtmlShape(chars=len(html), tags=tree.tags, depth=tree.depth, complete=False)
    notes: list[str] = []
    if walker.dropped_depth:
        notes.append(f"HTML nested deeper than {max_depth} levels ({tree.depth} read): "
                     f"{walker.dropped_depth} elements below level {max_depth} flattened")
    if walker.dropped_count:
        notes.append(f"HTML of more than {max_tags} elements ({tree.tags} read): the "
                     f"{walker.dropped_count} after the first {max_tags} kept as text only")
    if walker.full or len(html) > max_chars:
        notes.append(f"HTML of {len(html)} characters: the first {walker.read} rendered")
    if not notes:  # within the limits after all (the model's re-created elements)
        notes.append(f"HTML of more than {max_tags} elements once formatting is re-created "
                     f"({tree.tags} read): every element closed where it ends")
    return BoundedHtml(html="".join(walker.out), tags=walker.kept_tags, shape=seen,
                       notes=tuple(notes))


def rough_text(html: str) -> str:
    """A plain rendering of ``html`` in linear time: tags dropped, a line break at block
    elements, scripts and styles left out, entities decoded. For HTML too large for the
    renderer, and when the time budget is spent."""
    pieces: list[str] = []
    pos = 0
    end = len(html)
    while pos < end:
        match = _TOKEN.search(html, pos)
        if match is None:
            pieces.append(html[pos:])
            break
        pieces.append(html[pos:match.start()])
        pos = match.end()
        name = match.group("start") or match.group("end")
        if name is None:
            continue
        name = _name(name)
        if name in _BLOCK:
            pieces.append("\n")
        if match.group("start") is not None and name in _RAW_TEXT:
            found = _RAW_END[name].search(html, pos)
            until = found.start() if found else end
            if name not in _HIDDEN_TEXT:
                pieces.append(html[pos:until])
            pos = until
    text = html_module.unescape("".join(pieces))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
