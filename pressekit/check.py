"""`pressekit check`: every validation of the build, plus editorial warnings, without writing anything.

Warnings are `SourceError(warning=True)`: a text that is valid but that an editor would send back
(alt text that repeats the caption, a subject line too long to show, a link to a release that is
not online, a skipped heading level, ...).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .config import Config
from .dates import lift_time
from .errors import SourceError, display_path
from .frontmatter import Node, split_document
from .markup import removed_html, render_html, strip_tags, summary_of
from .model import Release
from .paths import RELEASES_DIR, RESERVED_IDS
from .scan import scan_tree
from .sitepages import find_pages, load_pages, missing_legal_pages, placeholders
from .text import decode_utf8
from .validate import validate_site

MAX_TITLE = 120
MAX_SUMMARY = 300
# An embargo that lifted long ago is archive, not a mistake: only recent ones are worth a word.
RECENT_EMBARGO = timedelta(days=14)
# Paths under base_url that are pages of the site, not releases.
SITE_PATHS = RESERVED_IDS | {"sitemap.xml", "news-sitemap.xml", "404.html", "index.html", "archiv", "robots.txt",
                             "termine.ics"}

_HREF = re.compile(r"""<a\s[^>]*?href="([^"]*)\"""")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")

Finding = tuple[int, str, "str | None"]  # (line, message, hint)


def check_site(root: Path, now: datetime) -> tuple[int, list[SourceError]]:
    """Validate the site at root like a build, plus editorial warnings; return (releases checked, problems)."""
    scan = scan_tree(root / RELEASES_DIR)
    found = validate_site(root, now, scan=scan)
    if found.config is None:
        return 0, list(found.problems)
    releases = list(found.releases)
    ids = scan.ids
    problems = [*found.problems, *lint_releases(found.config, releases, now, ids), *page_problems(found.config, ids)]
    return len(scan.bundles), sorted(problems, key=lambda e: (e.path, e.line, e.warning))


def page_problems(config: Config, ids: set[str]) -> list[SourceError]:
    """Errors of every page in pages/ (placeholders left in are errors), and a warning per missing legal page.

    `ids`: the folder name of every release bundle, valid or not (a page may not take one's URL)."""
    pages, errors = load_pages(config, ids)
    return errors + [e for page in pages for e in placeholders(page, config)] + missing_legal_pages(pages)


def lint_releases(config: Config, releases: list[Release], now: datetime, ids: set[str]) -> list[SourceError]:
    """Editorial warnings for every valid release; `ids` as for `page_problems`."""
    # Invalid releases still exist as folders: a link to one is reported by its own errors, not here.
    folders = ids | {p.stem for p in find_pages(config.root)}
    by_id = {r.id: r for r in releases}
    warnings: list[SourceError] = []
    for release in releases:
        warnings.extend(lint_release(release, config, by_id, folders, now))
    return warnings


def lint_release(release: Release, config: Config, by_id: dict[str, Release], folders: set[str],
                 now: datetime) -> list[SourceError]:
    """Editorial warnings for one release."""
    shown = display_path(release.source, config.root)
    lines = field_lines(release.source)
    body_html = render_html(release.body)
    found = [
        *_field_warnings(release, config, lines, now),
        *_photo_warnings(release),
        *_expiry_warnings(release, config, now),
        *_body_warnings(release, body_html),
        *((release.body_line + line, message, hint) for line, message, hint in removed_html(release.body)),
        *_feed_warnings(release, lines, body_html),
        *_link_warnings(release, config, body_html, by_id, folders, now),
    ]
    return [SourceError(shown, line, message, hint, warning=True) for line, message, hint in found]



def field_lines(source: Path) -> dict[str, int]:
    """The line of each top-level front-matter field of index.md (1 for a file that does not parse)."""
    text, _ = decode_utf8(source.read_bytes(), "")
    doc, _ = split_document(text or "", "")
    fields: dict[str, Node] = doc.fields if doc else {}
    return {key: node.line for key, node in fields.items()}


def _field_warnings(release: Release, config: Config, lines: dict[str, int], now: datetime) -> Iterator[Finding]:
    if len(release.title) > MAX_TITLE:
        yield (lines.get("title", 1), f"title: {len(release.title)} characters; subject lines and headlines are "
               f"cut after about {MAX_TITLE}", "shorten the title and move details to the subtitle")
    summary = " ".join(release.summary.split())
    if len(summary) > MAX_SUMMARY:
        yield (lines.get("summary", 1), f"summary: {len(summary)} characters; feeds and lists show about "
               f"{MAX_SUMMARY}", "shorten the summary to two sentences")
    if release.embargo is not None and now - RECENT_EMBARGO < release.embargo <= now:
        lifted = lift_time(release.embargo, config.site.tz)
        yield (lines.get("embargo", 1), f"embargo: {lifted} has already passed; the release goes online "
               "with the next build", "check the date of the embargo, or remove the line if that is intended")
    if release.contact is None:
        yield (lines.get("contact", 1), "the release has no contact and pressekit.toml has no default contact",
               "add a [contacts.pressestelle] table to pressekit.toml")


def _photo_warnings(release: Release) -> Iterator[Finding]:
    for i, photo in enumerate(release.photos):
        if _same_text(photo.alt, photo.caption):
            yield (photo.line, f"photos[{i}].alt: the alt text repeats the caption",
                   "describe what the picture shows for people who cannot see it; the caption is read out anyway")


EXPIRY_NOTICE = timedelta(days=30)


def _expiry_warnings(release: Release, config: Config, now: datetime) -> Iterator[Finding]:
    """A photo whose licence or consent ends within 30 days (it leaves output/ then)."""
    if release.is_withdrawn(now):
        return
    for i, photo in enumerate(release.photos):
        if photo.expires is not None and now < photo.expires <= now + EXPIRY_NOTICE:
            yield (photo.line, f"photos[{i}].expires: {lift_time(photo.expires, config.site.tz)} is less than "
                   f"{EXPIRY_NOTICE.days} days away; the photo is removed with the first build after it",
                   f"extend the licence or consent, or ask editors to delete it: "
                   f"pressekit send {release.id} --takedown {photo.file}")


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold().rstrip(".") == " ".join(b.split()).casefold().rstrip(".")


def _body_warnings(release: Release, body_html: str) -> Iterator[Finding]:
    if not strip_tags(body_html):
        yield (release.body_line, "the body is empty", "write the text of the release below the front matter")
        return
    level = 1  # the page's <h1> is the title
    for line, depth, text in headings(release.body, release.body_line):
        if depth == 1:
            yield (line, f"heading '{text}' is level 1, like the title",
                   "the title is the page's only level-1 heading; start sections with '## '")
        elif depth > level + 1:
            after = "the title (h1)" if level == 1 else f"h{level}"
            yield (line, f"heading '{text}' skips a level: h{depth} follows {after}",
                   f"use {'#' * (level + 1)} for this heading")
        level = depth


def headings(body: str, first_line: int) -> Iterator[tuple[int, int, str]]:
    """(line, level, text) of every Markdown heading of the body, outside code blocks."""
    fence: str | None = None
    previous = ""
    for number, line in enumerate(body.split("\n"), first_line):
        if m := _FENCE.match(line):
            marker = m.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip()[len(marker):]:
                fence = None
            previous = ""
            continue
        if fence is not None or line.startswith(("    ", "\t")):
            continue
        if m := _ATX.match(line):
            yield number, len(m.group(1)), m.group(2).strip()
            previous = ""
            continue
        if (m := _SETEXT.match(line)) and previous.strip() and not _is_block_start(previous):
            yield number - 1, 1 if m.group(1)[0] == "=" else 2, previous.strip()
            previous = ""
            continue
        previous = line


def _is_block_start(line: str) -> bool:
    """Lines that cannot be the text of a setext heading (list items, quotes, tables, rules)."""
    return bool(re.match(r"^ {0,3}([-*+]\s|\d+[.)]\s|>|\||(-\s*){3,}$|(\*\s*){3,}$)", line))


# feedparser (6.0) takes a text that is all Latin-1 for mis-decoded UTF-8 and decodes it again: in a title,
# summary or content without any character beyond U+00FF, 'ß«' becomes '߫' and 'Ü' + no-break space 'ܠ'.
_UTF8_LOOKALIKE = re.compile("[\u00c2-\u00df][\u0080-\u00bf]|[\u00e0-\u00ef][\u0080-\u00bf]{2}"
                             "|[\u00f0-\u00f4][\u0080-\u00bf]{3}")


def feedparser_reading(value: str) -> str:
    """The value as feedparser-based feed readers show it."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _feed_warnings(release: Release, lines: dict[str, int], body_html: str) -> Iterator[Finding]:
    body_lines = release.body.split("\n")
    values = (("title", release.title, lines.get("title", 1)),
              ("summary", summary_of(release.summary, body_html), lines.get("summary") if release.summary else None),
              ("body", body_html, None))
    for field, value, line in values:
        if feedparser_reading(value) == value or not (m := _UTF8_LOOKALIKE.search(value)):
            continue
        pair = m.group(0)
        if line is None:
            line = release.body_line + next((n for n, text in enumerate(body_lines) if pair in text), 0)
        shown = pair.replace("\u00a0", " + no-break space")
        yield (line, f"{field}: feed readers built on feedparser show '{feedparser_reading(pair)}' for "
               f"'{shown}' (the text has no character beyond Latin-1 and is taken for mis-decoded UTF-8)",
               _feed_hint(pair))


def _feed_hint(pair: str) -> str:
    first, second = pair[0], pair[1]
    if second == "\u00a0":
        return f"write a normal space after '{first}' instead of the no-break space"
    if second in "\u00ab\u00bb":
        return "write German quotes \u201e\u2026\u201c instead of \u00bb\u2026\u00ab or \u00ab\u2026\u00bb"
    return f"put a space between '{first}' and '{second}'"


def _link_warnings(release: Release, config: Config, body_html: str, by_id: dict[str, Release],
                   folders: set[str], now: datetime) -> Iterator[Finding]:
    page = config.release_url(release.id)
    for href in sorted({html.unescape(h) for h in _HREF.findall(body_html)}):
        target = linked_release(urljoin(page, href), config.site.base_url)
        if target is None or target == release.id:
            continue
        line = _line_of(href, release.body, release.body_line)
        if target not in folders:
            yield (line, f"the link '{href}' points to the release '{target}', which does not exist",
                   "check the folder name under releases/")
        elif (other := by_id.get(target)) is not None and _offline_when_linked(other, release, now):
            when = "is a draft" if other.draft else \
                f"is not published before {lift_time(other.published, config.site.tz)}"
            yield (line, f"the link '{href}' points to the release '{target}', which {when}",
                   "readers would find a missing page; link it once it is online")


def linked_release(url: str, base_url: str) -> str | None:
    """The release id that an absolute URL of this site points to, or None for other pages and sites."""
    parts = urlsplit(url)
    base = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != base.netloc.lower():
        return None
    if not parts.path.startswith(base.path):
        return None
    first = parts.path[len(base.path):].split("/", 1)[0]
    if not first or first in SITE_PATHS or first.isdigit():
        return None
    return first


def _offline_when_linked(target: Release, source: Release, now: datetime) -> bool:
    """True when readers of source can meet the link before target is online."""
    return target.draft or target.published > max(now, source.published)


def _line_of(href: str, body: str, first_line: int) -> int:
    for number, line in enumerate(body.split("\n"), first_line):
        if href in line or html.escape(href, quote=False) in line:
            return number
    return first_line
