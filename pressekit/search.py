"""Full-text search: Pagefind indexes under output/pagefind/<name>/, merged in the browser on /suche/.

Releases are indexed one year per index and the pages from pages/ in one more, so an edit
re-indexes only its year (Pagefind's `mergeIndex` joins them when searching). Pagefind (the
`pagefind[bin]` package) indexes small documents that this module writes: a release's title,
subtitle, date, body text, topic and year filters, nothing of the page's frame. It runs offline.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import PressekitError

SEARCH_DIR = "pagefind"
PAGES_INDEX = "seiten"
# Pagefind's ready-made interfaces: /suche/ has its own accessible one.
UNUSED = ("pagefind-ui.*", "pagefind-modular-ui.*", "pagefind-component-ui.*", "pagefind-highlight.js")
TIMEOUT = 600  # seconds; Pagefind indexes thousands of documents per second


@dataclass(frozen=True)
class Record:
    """One searchable document: a release or a page."""

    url: str            # relative to the site root, e.g. "2025-07-02-x/"
    title: str
    date: str           # as shown in a result, e.g. "02.07.2025"; "" for pages
    text_html: str      # the body as HTML (already sanitised by markup)
    subtitle: str = ""
    topics: tuple[str, ...] = ()
    year: str = ""

    def document(self, language: str) -> str:
        """The HTML Pagefind reads: only what should be found, with its filters and meta data."""
        esc = html.escape
        filters = "".join(f'<span data-pagefind-filter="Thema:{esc(t)}"></span>' for t in self.topics)
        if self.year:
            filters += f'<span data-pagefind-filter="Jahr:{esc(self.year)}"></span>'
        meta = f'<span data-pagefind-meta="datum:{esc(self.date)}"></span>' if self.date else ""
        subtitle = f"<p>{esc(self.subtitle)}</p>" if self.subtitle else ""
        return (f'<!DOCTYPE html><html lang="{esc(language)}"><head><title>{esc(self.title)}</title></head>'
                f'<body data-pagefind-body><h1 data-pagefind-meta="title">{esc(self.title)}</h1>{subtitle}'
                f"{filters}{meta}{self.text_html}</body></html>")

    def digest(self) -> str:
        return hashlib.sha256(repr(self).encode("utf-8", "surrogatepass")).hexdigest()


def index_path(name: str) -> str:
    """The folder of one index under output/."""
    return f"{SEARCH_DIR}/{name}/"


def cached_index(records: Callable[[], Sequence[Record]], name: str, key: str, staging: Path, language: str,
                 cache: Path) -> list[str]:
    """The index of these records from cache/<key>/, else built and kept there; copied into staging.

    Pagefind writes its filter and meta files in an arbitrary order, so an index is made once per key:
    builds of the same site into several folders give the same bytes.
    """
    kept = cache / key[:32]
    if not (kept / "pagefind.js").is_file():
        build_index(records(), name, kept.parent / f".{kept.name}.new", language)
        if kept.exists():
            shutil.rmtree(kept)
        (kept.parent / f".{kept.name}.new" / SEARCH_DIR / name).rename(kept)
        shutil.rmtree(kept.parent / f".{kept.name}.new")
    target = staging / SEARCH_DIR / name
    shutil.copytree(kept, target)
    return sorted(p.relative_to(staging).as_posix() for p in target.rglob("*") if p.is_file())


def prune_cache(cache: Path, keys: Collection[str]) -> None:
    """Delete the cached indexes of keys no longer in use."""
    wanted = {key[:32] for key in keys}
    if cache.is_dir():
        for path in cache.iterdir():
            if path.name not in wanted:
                shutil.rmtree(path, ignore_errors=True)


def build_index(records: Sequence[Record], name: str, staging: Path, language: str) -> list[str]:
    """Index records with Pagefind into staging/pagefind/<name>/; return the relpaths written.

    Raises PressekitError when Pagefind is missing or fails.
    """
    target = staging / SEARCH_DIR / name
    with tempfile.TemporaryDirectory(prefix="pressekit-search-") as temp:
        docs = Path(temp) / "site"
        for record in records:
            path = docs / record.url / "index.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(record.document(language), "utf-8")
        docs.mkdir(exist_ok=True)
        if not records:  # Pagefind refuses an empty site; an empty index still lets the page load
            (docs / "leer.html").write_text(f'<html lang="{language}"><body></body></html>', "utf-8")
        _run_pagefind(docs, Path(temp) / "out", language)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(Path(temp) / "out", target, ignore=shutil.ignore_patterns(*UNUSED))
    return sorted(p.relative_to(staging).as_posix() for p in target.rglob("*") if p.is_file())


def _run_pagefind(site: Path, out: Path, language: str) -> None:
    command = [sys.executable, "-m", "pagefind", "--site", str(site), "--output-path", str(out),
               "--force-language", language.split("-")[0].lower(), "--silent"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PressekitError(f"the search index could not be built: {exc}") from None
    if done.returncode != 0 or not (out / "pagefind.js").is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise PressekitError("the search index could not be built (pagefind: "
                             f"{detail[-1] if detail else f'exit status {done.returncode}'})\n"
                             "  hint: install it with: pip install 'pagefind[bin]'")
