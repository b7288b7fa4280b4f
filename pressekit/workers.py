"""Per-release rendering: body HTML, the release page and the e-mails, written into the staging folder.

Runs in worker processes for a cold build; the results are digests, never page bytes, so
memory stays flat however many releases the archive holds. The body HTML is memoised by the
digest of its Markdown and the Markdown settings, so a template edit renders no Markdown.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import markdown  # type: ignore[import-untyped]

from . import mail
from .cache import CODE_KEY, digest, read_sealed, write_sealed
from .config import Config
from .feed_items import feed_links
from .markup import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, EXTENSIONS, URL_SCHEMES, render_html, summary_of
from .model import Release
from .output import OutputFile
from .pages import ListPage, PageRenderer
from .processes import pool_context
from .sitepages import SiteLinks
from .templates import make_environment
from .views import MailView, ReleaseView

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

SERIAL_LIMIT = 100  # below this many pages, starting worker processes costs more than it saves
# What the body HTML depends on besides the Markdown: the code, the extensions and the sanitiser's allowlists.
MARKDOWN_KEY = digest(CODE_KEY, markdown.__version__, EXTENSIONS, sorted(ALLOWED_TAGS),
                      sorted((tag, sorted(names)) for tag, names in ALLOWED_ATTRIBUTES.items()), sorted(URL_SCHEMES))


@dataclass(frozen=True)
class ReleaseJob:
    """What to render of one release: its page, its e-mails or both (None: reused from the last build)."""

    id: str
    page: ReleaseView | None
    mail: MailView | None


@dataclass(frozen=True)
class Rendered:
    id: str
    page: dict[str, str]  # relpath -> sha256 of the bytes written to staging
    mail: dict[str, str]
    summary: str | None   # of the page, when it was rendered


class Staging:
    """The folder a build renders into before output/ is touched."""

    def __init__(self, root: Path):
        self.root = root
        self.dirs: set[Path] = set()

    def write(self, f: OutputFile) -> str:
        """Write an OutputFile's bytes under the staging folder and return their digest."""
        data = f.read()
        target = self.root / f.relpath
        if target.parent not in self.dirs:  # one mkdir per folder, not per file
            target.parent.mkdir(parents=True, exist_ok=True)
            self.dirs.add(target.parent)
        with open(target, "wb") as fp:
            fp.write(data)
        return hashlib.sha256(data).hexdigest()


class BodyCache:
    """Rendered body HTML by the digest of its Markdown, sealed with its own digest, shared by workers and the feeds."""

    def __init__(self, folder: Path):
        self.folder = folder

    def prune(self, keep: list[Release]) -> None:
        """Delete the cached bodies of every release but these, once a tenth of the cache is stale
        (hashing every body on every build would cost more than the stale files)."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        if len(names) <= len(keep) + len(keep) // 10 + 100:
            return
        wanted = {self._path(r).name for r in keep}
        for name in names:
            if name not in wanted:
                (self.folder / name).unlink(missing_ok=True)

    def html(self, release: Release) -> str:
        """The body HTML, from the cache (checked: a truncated or garbled entry is rendered again, never
        published), or rendered and kept in the cache."""
        path = self._path(release)
        cached = read_sealed(path)
        if cached is not None:
            return cached.decode("utf-8")
        html = render_html(release.body)
        write_sealed(path, html.encode("utf-8"))
        return html

    def _path(self, release: Release) -> Path:
        source = f"{MARKDOWN_KEY}\0{release.body}".encode("utf-8", "surrogatepass")
        return self.folder / f"{hashlib.sha256(source).hexdigest()}.html"


class Renderer:
    """Renders releases and list pages of one site into a staging folder (one per process)."""

    def __init__(self, config: Config, staging: Path, bodies: Path, links: SiteLinks = SiteLinks()):
        self.config, self.staging, self.bodies = config, Staging(staging), BodyCache(bodies)
        self.env = make_environment(config, links, compiled=True)
        self.mail_env = mail.mail_environment(config, compiled=True)
        self.pages = PageRenderer(self.env, config, feed_links(config))

    def release(self, job: ReleaseJob) -> Rendered:
        """The release page (or the tombstone of a withdrawn release) and/or the e-mails, as the job asks."""
        page, summary = {}, None
        if job.page is not None:
            release = job.page.release
            body = self.bodies.html(release)
            # a withdrawn release keeps its URL with a page that says so; it has no e-mails any more
            shown = (self.pages.tombstone(release, job.page.banner) if release.withdrawn
                     else self.pages.render_release(job.page, body))
            page = self._write([shown])
            summary = summary_of(release.summary, body)
        written = {}
        if job.mail is not None:
            view = job.mail
            written = self._write(mail.email_files(view.release, self.config, view.variants,
                                                   self.bodies.html(view.release), variant_files=view.variant_files,
                                                   env=self.mail_env, attachment_sizes=view.attachment_sizes))
        return Rendered(job.id, page, written, summary)

    def _write(self, files: list[OutputFile]) -> dict[str, str]:
        return {f.relpath: self.staging.write(f) for f in files}

    def list_page(self, spec: ListPage) -> tuple[str, str]:
        """One list page: (relpath, digest)."""
        return spec.relpath, self.staging.write(self.pages.render_list(spec))


_worker: Renderer | None = None


def _init_worker(config: Config, staging: Path, bodies: Path, links: SiteLinks) -> None:
    global _worker
    _worker = Renderer(config, staging, bodies, links)


def _release_in_worker(job: ReleaseJob) -> Rendered:
    assert _worker is not None
    return _worker.release(job)


def _list_page_in_worker(spec: ListPage) -> tuple[str, str]:
    assert _worker is not None
    return _worker.list_page(spec)


class RenderPool:
    """Renders in worker processes when there is enough work, in this process otherwise."""

    def __init__(self, config: Config, staging: Path, bodies: Path, workers: int, links: SiteLinks = SiteLinks()):
        self.args = (config, staging, bodies, links)
        self.workers = workers
        self.local: Renderer | None = None
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def in_processes(self) -> bool:
        """True while worker processes run (and hold memory and the cores)."""
        return self.pool is not None

    def close(self) -> None:
        """Stop the worker processes; rendering afterwards happens in this process."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def releases(self, jobs: list[ReleaseJob]) -> Iterator[Rendered]:
        """Render every release job; yields results as they come."""
        if self._serial(len(jobs)):
            yield from map(self._renderer().release, jobs)
        else:
            yield from self._processes().map(_release_in_worker, jobs, chunksize=self._chunk(len(jobs)))

    def list_pages(self, specs: list[ListPage]) -> Iterator[tuple[str, str]]:
        """Render every list page; yields (relpath, digest)."""
        if self._serial(len(specs)):
            yield from map(self._renderer().list_page, specs)
        else:
            yield from self._processes().map(_list_page_in_worker, specs, chunksize=self._chunk(len(specs)))

    def _serial(self, count: int) -> bool:
        return self.workers <= 1 or (count < SERIAL_LIMIT and self.pool is None)

    def _chunk(self, count: int) -> int:
        return max(1, min(64, count // (self.workers * 4)))

    def _renderer(self) -> Renderer:
        if self.local is None:
            self.local = Renderer(*self.args)
        return self.local

    def _processes(self) -> ProcessPoolExecutor:
        from concurrent.futures import ProcessPoolExecutor  # here: a build that renders a few pages starts no pool

        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=pool_context(__name__), initializer=_init_worker,
                                            initargs=self.args)
        return self.pool
