"""Per-release rendering: body HTML, the release page and the e-mails, written into the staging folder.

Runs in worker processes for a cold build; the results are digests, never page bytes, so
memory stays flat however many releases the archive holds.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import mail
from .cache import digest
from .config import Config
from .feeds import feed_links
from .markup import render_html, summary_of
from .model import Release, Variant
from .output import OutputFile
from .pages import ListPage, PageRenderer, without_bodies
from .sitepages import SiteLinks
from .templates import make_environment

VariantMap = dict[tuple[str, str], tuple[Variant, ...]]
SERIAL_LIMIT = 100  # below this many pages, starting worker processes costs more than it saves


@dataclass(frozen=True)
class ReleaseJob:
    """Everything one release's pages depend on besides the config and the templates."""

    release: Release
    variants: VariantMap
    attachment_sizes: dict[str, int]
    zip_size: int | None
    banner: str
    variant_files: dict[str, Path]  # relpath -> cached file, for e-mail attachments


@dataclass(frozen=True)
class Rendered:
    id: str
    files: dict[str, str]  # relpath -> sha256 of the bytes written to staging
    summary: str


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
    """Rendered body HTML by the digest of its Markdown, shared by workers and the feeds."""

    def __init__(self, folder: Path):
        self.folder = folder

    def prune(self, keep: list[Release]) -> None:
        """Delete the cached bodies of every release but these."""
        wanted = {f"{digest(r.body)}.html" for r in keep}
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.name not in wanted:
                    path.unlink(missing_ok=True)

    def html(self, release: Release, keep: bool = True) -> str:
        """The body HTML, from the cache or rendered; kept in the cache when `keep` (the feeds will need it)."""
        path = self.folder / f"{digest(release.body)}.html"
        try:
            return path.read_text("utf-8")
        except OSError:
            pass
        html = render_html(release.body)
        if keep:
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}")
            temp.write_text(html, "utf-8")
            os.replace(temp, path)
        return html


class Renderer:
    """Renders releases and list pages of one site into a staging folder (one per process)."""

    def __init__(self, config: Config, staging: Path, bodies: Path, keep: frozenset[str] = frozenset(),
                 links: SiteLinks = SiteLinks()):
        self.config, self.staging, self.bodies, self.keep = config, Staging(staging), BodyCache(bodies), keep
        self.env = make_environment(config, links)
        self.mail_env = mail.mail_environment(config)
        self.pages = PageRenderer(self.env, config, feed_links(config))

    def release(self, job: ReleaseJob) -> Rendered:
        """The release page and the e-mails of one release."""
        release = job.release
        body = self.bodies.html(release, keep=release.id in self.keep)
        pages = PageRenderer(self.env, self.config, self.pages.feeds, lambda r: job.banner)
        files = [pages.release_page(release, body, job.variants, job.attachment_sizes, job.zip_size),
                 *mail.email_files(release, self.config, job.variants, body, variant_files=job.variant_files,
                                   env=self.mail_env)]
        written = {f.relpath: self.staging.write(f) for f in files}
        return Rendered(release.id, written, summary_of(release.summary, body))

    def list_page(self, spec: ListPage) -> tuple[str, str]:
        """One list page: (relpath, digest)."""
        return spec.relpath, self.staging.write(self.pages.render_list(spec))


_worker: Renderer | None = None


def _init_worker(config: Config, staging: Path, bodies: Path, keep: frozenset[str], links: SiteLinks) -> None:
    global _worker
    _worker = Renderer(config, staging, bodies, keep, links)


def _release_in_worker(job: ReleaseJob) -> Rendered:
    assert _worker is not None
    return _worker.release(job)


def _list_page_in_worker(spec: ListPage) -> tuple[str, str]:
    assert _worker is not None
    return _worker.list_page(spec)


class RenderPool:
    """Renders in worker processes when there is enough work, in this process otherwise.

    The body HTML of the releases in `keep` is cached for the feeds.
    """

    def __init__(self, config: Config, staging: Path, bodies: Path, keep: frozenset[str], workers: int,
                 links: SiteLinks = SiteLinks()):
        self.args = (config, staging, bodies, keep, links)
        self.workers = workers
        self.local: Renderer | None = None
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

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
            yield from self._processes().map(_list_page_in_worker, map(without_bodies, specs),
                                             chunksize=self._chunk(len(specs)))

    def _serial(self, count: int) -> bool:
        return self.workers <= 1 or (count < SERIAL_LIMIT and self.pool is None)

    def _chunk(self, count: int) -> int:
        return max(1, min(64, count // (self.workers * 4)))

    def _renderer(self) -> Renderer:
        if self.local is None:
            self.local = Renderer(*self.args)
        return self.local

    def _processes(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_init_worker,
                                            initargs=self.args)
        return self.pool


def _context() -> multiprocessing.context.BaseContext:
    """forkserver with this module preloaded: fork is unsafe in a process with threads (`serve`, progress bars)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context
