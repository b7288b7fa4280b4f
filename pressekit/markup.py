"""Markdown -> safe HTML, summaries, and absolute URLs for feeds and e-mail."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from functools import lru_cache
from importlib import import_module
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

import markdown  # type: ignore[import-untyped]
import nh3
from markdown.extensions import Extension  # type: ignore[import-untyped]
from markdown.treeprocessors import Treeprocessor  # type: ignore[import-untyped]
from markdown.util import AtomicString  # type: ignore[import-untyped]

from .errors import PressekitError
from .text import slugify

EXTENSIONS = ["abbr", "attr_list", "def_list", "fenced_code", "footnotes", "tables", "sane_lists", "toc"]

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "mark", "ol", "p", "pre", "s",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "title", "lang"},
    "a": {"href", "class"},
    "abbr": {"title"},
    "div": {"class"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "sup": {"class"},
    "td": {"align", "colspan", "rowspan", "style"},
    "th": {"align", "colspan", "rowspan", "style", "scope"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


# Every inline pattern of Python-Markdown and its extensions starts at one of these characters
# (or at two spaces before a line break); text without any of them comes out unchanged.
_INLINE_TRIGGER = re.compile(r"[*_\[\]<>`&\\!\x02\x03]|  \n")


class _PlainText(Treeprocessor):  # type: ignore[misc]
    """Marks text in which no inline pattern can start as AtomicString, so the inline step passes it by.

    Most paragraphs of a press release are plain sentences; trying some twenty patterns at
    every position of them is the slowest part of Python-Markdown. Abbreviations (`*[X]: ...`)
    make plain words patterns (and skip atomic text), so a document defining them is left alone.
    """

    def run(self, root: Element) -> None:
        if self.md.treeprocessors["abbr"].abbrs:
            return
        for element in root.iter():
            if element is root:
                continue
            if _is_plain(element.text):
                element.text = AtomicString(element.text)
            if _is_plain(element.tail):
                element.tail = AtomicString(element.tail)


def _is_plain(text: str | None) -> bool:
    return text is not None and text != "" and not isinstance(text, AtomicString) and not _INLINE_TRIGGER.search(text)


class _PlainTextExtension(Extension):  # type: ignore[misc]
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        md.treeprocessors.register(_PlainText(md), "plain-text", 21)  # just before "inline" (20)


class MarkupError(PressekitError):
    """A body that Python-Markdown cannot render (nested too deeply for the interpreter's stack)."""


@lru_cache(maxsize=1)
def _converter() -> markdown.Markdown:
    # The extensions are made from their modules: by name, Python-Markdown would first look each up among
    # the entry points of every installed package (half of the 40 ms its first converter takes).
    configs: dict[str, dict[str, object]] = {
        "toc": {"slugify": slugify, "toc_depth": "2-6"},
        "footnotes": {"BACKLINK_TITLE": "Zurück zum Text (Fußnote %d)"},
    }
    extensions = [import_module(f"markdown.extensions.{name}").makeExtension(**configs.get(name, {}))
                  for name in EXTENSIONS]
    return markdown.Markdown(extensions=[*extensions, _PlainTextExtension()], output_format="html")


def render_html(source: str) -> str:
    """Return the body as HTML with raw HTML sanitised (no script, no handlers, no javascript: links).

    Raises MarkupError for a body nested too deeply to render; validation (`body_problems`)
    rejects such bodies with their line first.
    """
    return sanitize(_convert(source))


def _convert(source: str) -> str:
    md = _converter()
    md.reset()
    try:
        return str(md.convert(source))
    except RecursionError:
        raise MarkupError("the text is nested too deeply to render; check it with 'pressekit check'") from None


MAX_NESTING = 20  # list and quote levels; Python-Markdown recurses once per level
MAX_UNCLOSED_TAGS = 20  # '<b' without '>': each costs Python-Markdown a scan to the end of the text
MAX_EMPHASIS_MARKS = 500  # '*' and '_' in one paragraph: emphasis nests as deep as there are marks

_CONTAINER = re.compile(r" {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)| {0,3}>[ \t]?")
_THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_TAG_START = re.compile(r"[A-Za-z/!?]")

Problem = tuple[int, str, "str | None"]  # (line within the body, counted from 0; message; hint)


def body_problems(body: str) -> list[Problem]:
    """What makes a body too deep or too costly to render: lists nested too deep, unclosed tags, emphasis floods."""
    return [*_nesting_problems(body), *_unclosed_tag_problems(body), *_emphasis_problems(body)]


def nesting_depth(line: str) -> int:
    """How many lists and quotes a line of Markdown opens or continues (indentation counts 4 columns a level)."""
    if _THEMATIC_BREAK.fullmatch(line):
        return 0
    text = line.expandtabs(4)
    rest = text.lstrip(" ")
    depth = (len(text) - len(rest)) // 4
    while rest and (m := _CONTAINER.match(rest)):
        depth, rest = depth + 1, rest[m.end():]
    return depth


def _nesting_problems(body: str) -> list[Problem]:
    for number, line in enumerate(body.split("\n")):
        if (depth := nesting_depth(line)) > MAX_NESTING:
            return [(number, f"lists and quotes are nested {depth} levels deep here; the limit is {MAX_NESTING}",
                     "flatten the list: deeper levels cannot be read in an e-mail or feed either")]
    return []


def _unclosed_tag_problems(body: str) -> list[Problem]:
    pieces = body.split("<")
    unclosed, offset, first = 0, len(pieces[0]), -1
    for before, piece in zip(pieces, pieces[1:]):
        if _TAG_START.match(piece) and ">" not in piece and not before.endswith("\\"):
            unclosed += 1
            first = offset if first < 0 else first
        offset += len(piece) + 1
    if unclosed <= MAX_UNCLOSED_TAGS:
        return []
    return [(body.count("\n", 0, first), f"the body has {unclosed:,} '<' that open an HTML tag without a closing '>'; "
             f"the limit is {MAX_UNCLOSED_TAGS}", "write \\< for a '<' that does not start a tag")]


def _emphasis_problems(body: str) -> list[Problem]:
    line = 0
    for paragraph in re.split(r"(\n[ \t]*\n)", body):
        marks = paragraph.count("*") + paragraph.count("_")
        if marks > MAX_EMPHASIS_MARKS and not paragraph.startswith("\n"):
            return [(line, f"this paragraph has {marks:,} '*' and '_' characters; the limit is {MAX_EMPHASIS_MARKS}",
                     "emphasis this deep cannot be rendered; write \\* for a literal '*'")]
        line += paragraph.count("\n")
    return []


def sanitize(fragment: str) -> str:
    """Keep only allowlisted tags, attributes and URL schemes."""
    return nh3.clean(
        fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
        link_rel=None, strip_comments=True,
        filter_style_properties={"text-align"},
    )


# --- what the sanitizer removes, for `check` ---------------------------------------------------------

ALLOWED_SHORT = "text formatting, links, images, lists, tables and headings"


class _TagCollector(HTMLParser):
    """Every start tag of an HTML text as (line, tag, attributes); lines counted from 1."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((self.getpos()[0], tag, attrs))


def _start_tags(text: str) -> list[tuple[int, str, list[tuple[str, str | None]]]]:
    parser = _TagCollector()
    parser.feed(text)
    parser.close()
    return parser.found


_CODE = re.compile(r"(?ms)^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[ \t]*$|(`+)(?!`).+?(?<!`)\2(?!`)")


def removed_html(body: str) -> list[Problem]:
    """Raw HTML of the body that `sanitize` removes: tags, attributes and link schemes outside the allowlist.

    Found in the Markdown source (code blocks and spans blanked out: they are shown, not removed) and
    kept only when Python-Markdown passes it through as HTML, so a `<script>` written as text is not named.
    """
    raw = _convert(body)
    passed = {(tag, name) for _, tag, attrs in _start_tags(raw) for name, _ in [("", None), *attrs]}
    source = _CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), body)
    problems: list[Problem] = []
    for line, tag, attrs in _start_tags(source):
        if (tag, "") not in passed:
            continue
        if tag not in ALLOWED_TAGS:
            problems.append((line - 1, f"raw HTML <{tag}> is removed; only {ALLOWED_SHORT} are allowed",
                             f"allowed tags: {', '.join(sorted(ALLOWED_TAGS))}"))
            continue
        allowed = ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            if name not in allowed and (tag, name) in passed:
                problems.append((line - 1, f"raw HTML attribute {name} of <{tag}> is removed; only "
                                 f"{', '.join(sorted(allowed))} are allowed there", None))
            elif name in ("href", "src") and value and not _allowed_url(value):
                problems.append((line - 1, f"raw HTML {name}=\"{value}\" of <{tag}> is removed; only "
                                 f"{', '.join(sorted(URL_SCHEMES))} links are allowed", None))
    return problems + _removed_links(raw, body, {p[1] for p in problems})


def _allowed_url(url: str) -> bool:
    scheme = re.match(r"\s*([a-z][a-z0-9+.-]*):", url, re.I)
    return scheme is None or scheme.group(1).lower() in URL_SCHEMES


def _removed_links(raw: str, body: str, reported: set[str]) -> list[Problem]:
    """Markdown links and images with a scheme the sanitizer removes (`[x](javascript:...)`)."""
    out: list[Problem] = []
    for _, tag, attrs in _start_tags(raw):
        for name, value in attrs:
            if name in ("href", "src") and value and not _allowed_url(value):
                line = next((n for n, text in enumerate(body.split("\n")) if value in text), 0)
                message = f"the link '{value}' is removed; only {', '.join(sorted(URL_SCHEMES))} links are allowed"
                if not any(f'="{value}"' in m for m in reported) and message not in reported:
                    reported.add(message)
                    out.append((line, message, "link to a web page or write the address as text"))
    return out


_TAG = re.compile(r"<[^>]+>")
_PARA = re.compile(r"<p>(.*?)</p>", re.S)


def strip_tags(fragment: str) -> str:
    """Plain text of an HTML fragment on one line: tags removed, entities decoded, spaces collapsed."""
    text = html.unescape(_TAG.sub("", fragment))
    return " ".join(text.replace("\u00a0", " ").replace("\u200b", "").split())


def summary_of(summary: str, body_html: str) -> str:
    """The given summary, or else the first paragraph of the body as plain text."""
    if summary:
        return " ".join(summary.split())
    m = _PARA.search(body_html)
    return strip_tags(m.group(1)) if m else ""


_URL_ATTR = re.compile(r'\b(href|src)="([^"]*)"')


def absolutize(fragment: str, base: str) -> str:
    """Rewrite relative href/src in an HTML fragment against base (a page URL)."""
    def fix(m: re.Match[str]) -> str:
        url = html.unescape(m.group(2))
        if url.startswith("#") or re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I):
            return m.group(0)
        return f'{m.group(1)}="{html.escape(urljoin(base, url), quote=True)}"'
    return _URL_ATTR.sub(fix, fragment)
