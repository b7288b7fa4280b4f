"""Pages of the site besides releases: `pages/<slug>.md` (Impressum, Datenschutz, Barrierefreiheit ...).

A page has front matter (`title`, optional `nav` order, `footer: true`, `description`) and a
Markdown body like a release; it is published at `<base_url><slug>/`. Every problem in every
page is collected, as for releases.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .config import Config
from .errors import SourceError, display_path
from .frontmatter import Node, read_document
from .paths import PAGES_DIR, RESERVED_IDS
from .text import CONTROL, LINE_BREAKS

FIELDS = ("title", "nav", "footer", "description")
# Paths of the site that a page cannot take.
RESERVED_SLUGS = RESERVED_IDS | {"archiv", "suche", "termine", "pagefind", "404"}
# The pages a German public body must publish (§5 DDG, Art. 13 DSGVO, §12b BGG): slug -> name.
LEGAL_PAGES = {"impressum": "Impressum", "datenschutz": "Datenschutzerklärung",
               "barrierefreiheit": "Erklärung zur Barrierefreiheit"}
# A placeholder a skeleton leaves for the office to fill in: [[Anschrift der Behörde]].
PLACEHOLDER = re.compile(r"\[\[[^\[\]]+?\]\]")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class SitePage:
    """One validated `pages/<slug>.md`."""

    slug: str
    source: Path
    title: str
    body: str
    body_line: int
    description: str = ""
    nav: int | None = None   # position in the main navigation; None: not in it
    footer: bool = False     # linked from every page's footer


@dataclass(frozen=True)
class SiteLinks:
    """The pages every page links to: (title, slug) in the main navigation and in the footer."""

    nav: tuple[tuple[str, str], ...] = ()
    footer: tuple[tuple[str, str], ...] = ()


def site_links(pages: Collection[SitePage]) -> SiteLinks:
    """The navigation (by `nav`, then slug) and footer (in slug order) links of these pages."""
    nav = sorted((p for p in pages if p.nav is not None), key=lambda p: (p.nav, p.slug))
    footer = sorted((p for p in pages if p.footer), key=lambda p: p.slug)
    return SiteLinks(tuple((p.title, p.slug) for p in nav), tuple((p.title, p.slug) for p in footer))


def find_pages(root: Path) -> list[Path]:
    """The page sources under root/pages/, sorted (other files there, such as images, are not pages)."""
    folder = root / PAGES_DIR
    return sorted(p for p in folder.glob("*.md") if p.is_file()) if folder.is_dir() else []


def load_pages(config: Config, release_ids: Collection[str]) -> tuple[list[SitePage], list[SourceError]]:
    """Read and validate every page; return the valid pages and every problem found."""
    pages: list[SitePage] = []
    errors: list[SourceError] = []
    for source in find_pages(config.root):
        page, problems = load_page(source, config, release_ids)
        errors.extend(problems)
        if page is not None:
            pages.append(page)
    return pages, errors


def load_page(source: Path, config: Config, release_ids: Collection[str]) -> tuple[SitePage | None, list[SourceError]]:
    """One page, or None and the reasons."""
    shown = display_path(source, config.root)
    doc, errors = read_document(source, shown)
    if doc is None:
        return None, errors
    problems = list(errors)
    slug = source.stem

    def error(line: int, message: str, hint: str | None = None) -> None:
        problems.append(SourceError(shown, line, message, hint))

    if not _SLUG.fullmatch(slug) or slug.isdigit() or slug in RESERVED_SLUGS:
        error(1, f"the file name '{source.name}' cannot be a page address",
              "use lower-case letters, digits and hyphens, e.g. pages/impressum.md")
    elif slug in release_ids:
        error(1, f"the page '{slug}' has the address of the release releases/…/{slug}/", "rename one of them")
    for key, node in doc.fields.items():
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.6)
            error(node.line, f"unknown field '{key}'",
                  f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(FIELDS)}")
    title = _text(doc.fields.get("title"), "title", error)
    if not title:
        error(doc.fields["title"].line if "title" in doc.fields else 1, "title: is missing", "every page needs a title")
    description = _text(doc.fields.get("description"), "description", error)
    nav = _number(doc.fields.get("nav"), error)
    footer = _boolean(doc.fields.get("footer"), error)
    for m in CONTROL.finditer(doc.body):
        error(doc.body_line + doc.body.count("\n", 0, m.start()),
              f"the body contains the control character U+{ord(m.group()):04X}",
              "remove invisible characters pasted from another program")
        break
    if problems:
        return None, problems
    return SitePage(slug, source, title, doc.body, doc.body_line, description, nav, footer), []


def placeholders(page: SitePage, config: Config) -> list[SourceError]:
    """An error for every placeholder `[[…]]` still in the page's body: it must not be published so."""
    shown = display_path(page.source, config.root)
    return [SourceError(shown, page.body_line + page.body.count("\n", 0, m.start()),
                        f"the placeholder {m.group()} is still in the text",
                        "replace it with your own text before the page goes online")
            for m in PLACEHOLDER.finditer(page.body)]


def missing_legal_pages(pages: Collection[SitePage]) -> list[SourceError]:
    """A warning for each legal page the site lacks."""
    have = {p.slug for p in pages}
    return [SourceError(f"{PAGES_DIR}/{slug}.md", 1, f"the site has no {name}",
                        "a public body must publish it; `pressekit init` creates a template", warning=True)
            for slug, name in LEGAL_PAGES.items() if slug not in have]


def _scalar(node: Node, name: str, error: _Error) -> str | None:
    if not isinstance(node.value, str):
        error(node.line, f"{name}: expected a single value, not a list or mapping")
        return None
    if m := CONTROL.search(node.value):
        error(node.line, f"{name}: contains the control character U+{ord(m.group()):04X}")
        return None
    return node.value.strip()


def _text(node: Node | None, name: str, error: _Error) -> str:
    if node is None or node.value in (None, ""):
        return ""
    value = _scalar(node, name, error)
    if value and LINE_BREAKS.search(value):
        error(node.line, f"{name}: contains a line break; expected a single line")
        return ""
    return value or ""


def _number(node: Node | None, error: _Error) -> int | None:
    if node is None or node.value in (None, ""):
        return None
    value = _scalar(node, "nav", error)
    if value is None:
        return None
    if not value.isdigit():
        error(node.line, f"nav: '{value}' is not a whole number", "nav: 1 puts the page first in the navigation")
        return None
    return int(value)


def _boolean(node: Node | None, error: _Error) -> bool:
    if node is None or node.value in (None, ""):
        return False
    value = _scalar(node, "footer", error)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        error(node.line, f"footer: '{value}' is not true or false")
        return False
    return value.lower() == "true"


class _Error(Protocol):
    """Reports one problem of the page being read."""

    def __call__(self, line: int, message: str, hint: str | None = None) -> None: ...
