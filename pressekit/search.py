"""Full-text search: Pagefind indexes under output/pagefind/<name>/, merged in the browser on /suche/.

Releases are indexed one year per index and the pages from pages/ in one more, so an edit
re-indexes only its year (Pagefind's `mergeIndex` joins them when searching). A year of more than
INDEX_SIZE releases is indexed in parts of whole months (`2016-01`, `2016-05`, `2016-09`): Pagefind
takes two to three milliseconds of a core per document, so a part stays under half a second. Pagefind (the
`pagefind[bin]` package) indexes small documents that this module writes: a release's title,
subtitle, date, body text, topic and year filters, nothing of the page's frame. It runs offline.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .cache import file_digest, read_sealed, write_sealed
from .errors import PressekitError

SEARCH_DIR = "pagefind"
PAGES_INDEX = "seiten"
# Pagefind's ready-made interfaces: /suche/ has its own accessible one.
UNUSED = ("pagefind-ui.*", "pagefind-modular-ui.*", "pagefind-component-ui.*", "pagefind-highlight.js")
TIMEOUT = 300  # seconds; Pagefind indexes about a thousand documents per second


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


@dataclass(frozen=True)
class Source:
    """A document to index: its URL, a digest of what it is made from, and how to make its record (which
    may cost a body's Markdown: done only when the digest is new)."""

    url: str
    digest: str
    record: Callable[[], Record]


INDEX_SIZE = 200
_PARTS = (1, 2, 3, 4, 6, 12)  # the ways to cut a year into parts of whole months


def parts_of_year(count: int) -> int:
    """Into how many parts a year of count releases is indexed: the fewest with at most INDEX_SIZE each
    (on average; months differ)."""
    return next((parts for parts in _PARTS if -(-count // parts) <= INDEX_SIZE), _PARTS[-1])


def index_name(year: int, month: int, parts: int) -> str:
    """The index of a release of year and month when its year is cut into parts: `2016`, or the year and
    the first month of the part, `2016-05`."""
    if parts == 1:
        return str(year)
    first = (month - 1) * parts // 12 * 12 // parts + 1
    return f"{year}-{first:02d}"


def index_path(name: str) -> str:
    """The folder of one index under output/."""
    return f"{SEARCH_DIR}/{name}/"


class Indexing:
    """Pagefind runs in the background, one at a time, while the list pages and feeds render; `finish`
    copies their indexes into staging. (Two at once gained no time for a cold build of 10,000 releases
    and added 130 MB to its peak memory.)

    Each index is kept in cache/<key>/ and made only once per key: Pagefind writes its filter and
    meta files in an arbitrary order, so builds of one site into several folders give the same bytes.
    """

    def __init__(self, cache: Path, staging: Path, language: str):
        self.cache, self.staging, self.language = cache, staging, language
        self.started: list[tuple[str, Path, Path, subprocess.Popen[str] | None, tempfile.TemporaryDirectory[str] | None]] = []
        self.manifests: dict[str, dict[str, str]] = {}  # name -> {relpath in the index: digest}

    def __enter__(self) -> Indexing:
        return self

    def __exit__(self, *exc: object) -> None:
        for _, _, _, process, temp in self.started:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
            if temp is not None:
                temp.cleanup()

    def start(self, name: str, key: str, sources: Sequence[Source]) -> None:
        """Start indexing sources as pagefind/<name>/, unless the intact index of key is in the cache."""
        kept = self.cache / key[:32]
        found = _intact(kept)
        if found is not None:
            self.manifests[name] = found
            self.started.append((name, kept, kept, None, None))
            return
        self._wait_for_running()
        fresh = self.cache / f".{kept.name}.new"
        if fresh.exists():
            shutil.rmtree(fresh)
        documents = self.cache.with_name(DOCUMENTS) / name
        sync_documents(sources, documents, self.language)
        temp = tempfile.TemporaryDirectory(prefix="pressekit-search-")  # for Pagefind's messages
        process = _start_pagefind(documents, fresh, self.language, Path(temp.name) / "pagefind.log")
        self.started.append((name, kept, fresh, process, temp))

    def _wait_for_running(self) -> None:
        for _, _, fresh, process, temp in self.started:
            if process is not None and temp is not None and process.returncode is None:
                _check(process, fresh, Path(temp.name) / "pagefind.log")

    def finish(self, published: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """Wait for every index; return name -> {relpath under output/: digest}. Raises PressekitError.

        Only the files whose digest differs from `published` (relpath -> digest of the last build's
        output) are copied into staging: an edit changes a few files of its year's index, not all.
        """
        written = {}
        for name, kept, fresh, process, temp in self.started:
            if process is not None and temp is not None:
                _check(process, fresh, Path(temp.name) / "pagefind.log")
                for pattern in UNUSED:
                    for path in fresh.glob(pattern):
                        path.unlink()
                self.manifests[name] = _write_manifest(fresh)
                if kept.exists():
                    shutil.rmtree(kept)
                fresh.rename(kept)
            written[name] = {f"{index_path(name)}{rel}": d for rel, d in self.manifests[name].items()}
            for rel, d in self.manifests[name].items():
                if published.get(f"{index_path(name)}{rel}") != d:
                    target = self.staging / index_path(name) / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    # copied, never linked: a cache entry damaged later must not change what was published
                    shutil.copyfile(kept / rel, target)
        return written


MANIFEST = ".manifest"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def _write_manifest(folder: Path) -> dict[str, str]:
    """Record the digest of every file of a cached index beside it (sealed), to check it before reuse;
    return relpath -> digest."""
    found = {p.relative_to(folder).as_posix(): file_digest(p) for p in _files(folder)}
    write_sealed(folder / MANIFEST, _manifest_text(found).encode("utf-8"))
    return found


def _intact(folder: Path) -> dict[str, str] | None:
    """relpath -> digest of a cached index that holds exactly the files its manifest names, each with its
    digest; None when it does not (or is missing)."""
    manifest = read_sealed(folder / MANIFEST)
    if manifest is None or not (folder / "pagefind.js").is_file():
        return None
    try:
        found = {p.relative_to(folder).as_posix(): file_digest(p) for p in _files(folder)}
    except OSError:
        return None
    return found if manifest.decode("utf-8") == _manifest_text(found) else None


def _manifest_text(found: dict[str, str]) -> str:
    return "\n".join(f"{d} {rel}" for rel, d in found.items())


def prune_cache(cache: Path, keys: Collection[str], names: Collection[str]) -> None:
    """Delete the cached indexes of keys no longer in use, and the documents of indexes no longer made."""
    wanted = {key[:32] for key in keys}
    if cache.is_dir():
        for path in cache.iterdir():
            if path.name not in wanted:
                shutil.rmtree(path, ignore_errors=True)
    documents = cache.with_name(DOCUMENTS)
    if documents.is_dir():
        for path in documents.iterdir():
            if path.name not in names:
                shutil.rmtree(path, ignore_errors=True)


DOCUMENTS = "search-documents"  # beside the cached indexes: the documents of each index, kept between builds
_KNOWN = ".documents"           # in each documents folder: url -> [source digest, document digest], sealed
_EMPTY = "leer.html"


def sync_documents(sources: Sequence[Source], folder: Path, language: str) -> None:
    """Make folder hold exactly the documents Pagefind reads for sources, at the URL paths of their pages.

    The folder is kept between builds: a document whose source digest is unchanged and whose file still
    has the digest it was written with is left alone, so an edit writes one document, not a year's
    (this file system's mkdir and open cost about a millisecond each). Anything else is written again.
    """
    folder.mkdir(parents=True, exist_ok=True)
    known = _known_documents(folder)
    kept: dict[str, list[str]] = {}
    for source in sources:
        path = folder / source.url / "index.html"
        tag = hashlib.sha256(f"{language}\0{source.digest}".encode("utf-8", "surrogatepass")).hexdigest()
        remembered = known.get(source.url)
        if remembered is None or remembered[0] != tag or _digest_or_none(path) != remembered[1]:
            data = source.record().document(language).encode("utf-8", "surrogatepass")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            remembered = [tag, hashlib.sha256(data).hexdigest()]
        kept[source.url] = remembered
    wanted = {url.split("/", 1)[0] for url in kept} | {_KNOWN}
    for entry in os.scandir(folder):
        if entry.name not in wanted:
            shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)
    if not sources:  # Pagefind refuses an empty site; an empty index still lets the page load
        (folder / _EMPTY).write_text(f'<html lang="{language}"><body></body></html>', "utf-8")
    write_sealed(folder / _KNOWN, json.dumps(kept).encode("utf-8"))


def _known_documents(folder: Path) -> dict[str, list[str]]:
    payload = read_sealed(folder / _KNOWN)
    try:
        known = json.loads(payload) if payload is not None else {}
    except ValueError:
        known = {}
    return known if isinstance(known, dict) else {}


def _digest_or_none(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _executable() -> str:
    """The Pagefind binary of the pagefind[bin] package, else one on PATH."""
    try:
        from pagefind_bin import get_executable  # type: ignore[import-untyped]

        return str(get_executable())
    except ImportError:
        return shutil.which("pagefind") or "pagefind"


def _start_pagefind(site: Path, out: Path, language: str, log_file: Path) -> subprocess.Popen[str]:
    """Pagefind over site into out; its messages go to log_file (a pipe could be held open by a process
    forked meanwhile, and nobody would read it while the pages render)."""
    command = [_executable(), "--site", str(site), "--output-path", str(out),
               "--force-language", language.split("-")[0].lower(), "--silent"]
    try:
        with open(log_file, "w", encoding="utf-8") as log:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        raise PressekitError(f"the search index could not be built: {exc}\n"
                             "  hint: install Pagefind with: pip install 'pagefind[bin]'") from None


def _check(process: subprocess.Popen[str], out: Path, log: Path) -> None:
    """Wait for Pagefind (once) and raise PressekitError unless it wrote an index into out."""
    try:
        process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise PressekitError(f"the search index could not be built: Pagefind took longer than {TIMEOUT} s") from None
    if process.returncode != 0 or not (out / "pagefind.js").is_file():
        detail = log.read_text("utf-8", "replace").strip().splitlines()
        raise PressekitError("the search index could not be built (pagefind: "
                             f"{detail[-1] if detail else f'exit status {process.returncode}'})")
