"""Sanitised body HTML -> press-service plain text: one line per paragraph, item, heading and table row.

The walk uses the standard library's html.parser: the HTML comes from markup.render_html (nh3), so it is
well-formed and small. Blocks are kept as groups of lines so that a layout can put blank lines between
blocks (ots) or none at all (presse-service).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ..text import one_line

# Spaces that must not survive into a one-line text, and invisible characters that are dropped.

BULLETS = ("• ", "– ")
_GROUPS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "blockquote", "div",
           "figure", "address"}
_BREAKS = _GROUPS | {"li", "dt", "dd", "tr", "caption", "figcaption", "thead", "tbody", "tfoot", "br", "hr"}
_SKIP = {"script", "style", "template"}


def text_lines(text: str) -> list[str]:
    """Split a configured text into one line per paragraph (blank-line separated); [] when empty.

    A text written on one line comes back unchanged, byte for byte.
    """
    paragraphs = re.split(r"\n[ \t]*\n", text.strip())
    return [" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in paragraphs if p.strip()]


def html_to_blocks(fragment: str) -> list[list[str]]:
    """Return the body as blocks of plain-text lines (a paragraph is one line, a list one line per item)."""
    walker = _Walker()
    walker.feed(fragment)
    walker.close()
    walker.end_group()
    return walker.blocks


def html_to_lines(fragment: str) -> list[str]:
    """Return the body as plain-text lines, one per paragraph, list item, heading and table row."""
    return [line for block in html_to_blocks(fragment) for line in block]


def link_text(text: str, url: str) -> str:
    """`text [ url]` as press services write links; the URL alone when the text only repeats it."""
    shown = re.sub(r"^(mailto|tel):", "", url)
    if not text:
        return shown

    def bare(value: str) -> str:
        return re.sub(r"^([a-z][a-z0-9+.-]*:(//)?)", "", value.casefold()).rstrip("/")

    if bare(text) == bare(url):
        return text
    return f"{text} [ {shown}]"


class _Walker(HTMLParser):
    """Collects lines; block tags end the current line, <a> collects its text to add the URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = []
        self.group: list[str] | None = None
        self.depth = 0            # open grouping blocks
        self.parts: list[str] = []
        self.prefix = ""          # bullet or number of the list item being written
        self.lists: list[list[int]] = []   # per open list: [kind (0 ul, 1 ol, 2 footnotes), next number]
        self.links: list[tuple[str | None, list[str]]] = []
        self.cells = 0            # cells written in the current table row
        self.in_cell = 0
        self.skip = 0
        self.pre = 0
        self.footnotes = 0

    # --- lines and groups ------------------------------------------------

    def write(self, text: str) -> None:
        (self.links[-1][1] if self.links else self.parts).append(text)

    def end_line(self) -> None:
        line = one_line("".join(self.parts))
        self.parts = []
        if not line:
            return
        line, self.prefix = self.prefix + line, ""
        if self.group is None:
            self.blocks.append([line])
        else:
            self.group.append(line)

    def end_group(self) -> None:
        self.end_line()
        if self.group:
            self.blocks.append(self.group)
        self.group = None

    # --- parser events ---------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in _SKIP:
            self.skip += 1
        elif tag in ("td", "th"):
            self.in_cell += 1
            self.write(" | " if self.cells else "")
            self.cells += 1
        elif self.in_cell and tag in _BREAKS:
            self.write(" ")
        elif tag in _BREAKS:
            self.block_start(tag, a)
        elif tag == "a":
            self.links.append((a.get("href"), []))
        elif tag == "img":
            self.image(a)

    def block_start(self, tag: str, a: dict[str, str | None]) -> None:
        if self.depth == 0 and tag in _GROUPS:
            self.end_group()
            self.group = []
        else:
            self.end_line()
        if tag in _GROUPS:
            self.depth += 1
        if tag == "pre":
            self.pre += 1
        if tag == "div" and "footnote" in (a.get("class") or "").split():
            self.footnotes += 1
        if tag in ("ul", "ol"):
            kind = 2 if self.footnotes and tag == "ol" else (1 if tag == "ol" else 0)
            start = a.get("start") or "1"
            self.lists.append([kind, int(start) if start.isdigit() else 1])
        elif tag == "li" and self.lists:
            self.prefix = self.item_prefix()
        elif tag == "tr":
            self.cells = 0

    def item_prefix(self) -> str:
        kind, number = self.lists[-1]
        self.lists[-1][1] += 1
        if kind == 0:
            return BULLETS[min(len([k for k in self.lists if k[0] == 0]), 2) - 1]
        return f"[{number}] " if kind == 2 else f"{number}. "

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th"):
            self.in_cell = max(0, self.in_cell - 1)
        elif self.in_cell and tag in _BREAKS:
            self.write(" ")
        elif tag == "a" and self.links:
            self.link_end()
        elif tag in _BREAKS:
            self.block_end(tag)

    def block_end(self, tag: str) -> None:
        self.end_line()
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag == "div" and self.footnotes:
            self.footnotes -= 1
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in _GROUPS and self.depth:
            self.depth -= 1
            if self.depth == 0:
                self.end_group()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "hr"):
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre or self.links:
            self.write(data)
            return
        first, *rest = data.split("\n")   # preformatted text keeps its lines
        self.write(first)
        for line in rest:
            self.end_line()
            self.write(line)

    def link_end(self) -> None:
        href, parts = self.links.pop()
        text = one_line("".join(parts))
        if href is None or href.startswith("#"):
            # In-page anchors: footnote references become [n], the footnote's back link disappears.
            if href and href.startswith("#fn:"):
                text = f"[{text}]"
            elif href and href.startswith("#fnref:"):
                text = ""
            self.write(text)
        else:
            self.write(link_text(text, href))

    def image(self, a: dict[str, str | None]) -> None:
        alt, src = one_line(a.get("alt") or ""), a.get("src") or ""
        if self.links or not src:
            self.write(alt)
        else:
            self.write(link_text(alt, src))
