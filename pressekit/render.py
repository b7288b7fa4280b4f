"""Per-release rendering: body HTML, the release page and the e-mails, written into the staging folder.

Runs in worker processes for a cold build; the results are digests, never page bytes, so
memory stays flat however many releases the archive holds.
"""

from __future__ import annotations

import hashlib
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
from .pages import PageRenderer
from .templates import make_environment

VariantMap = dict[tuple[str, str], tuple[Variant, ...]]
SERIAL_LIMIT = 24  # below this many releases a process pool costs more than it saves


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


class ReleaseRenderer:
    """Renders release jobs of one site into a staging folder."""

    def __init__(self, config: Config, staging: Path, bodies: Path, keep: frozenset[str] = frozenset()):
        self.config, self.staging, self.bodies, self.keep = config, Staging(staging), BodyCache(bodies), keep
        self.env = make_environment(config)
        self.mail_env = mail.mail_environment(config)
        self.links = feed_links(config)

    def render(self, job: ReleaseJob) -> Rendered:
        release = job.release
        body = self.bodies.html(release, keep=release.id in self.keep)
        pages = PageRenderer(self.env, self.config, self.links, lambda r: job.banner)
        files = [pages.release_page(release, body, job.variants, job.attachment_sizes, job.zip_size),
                 *mail.email_files(release, self.config, job.variants, body, variant_files=job.variant_files,
                                   env=self.mail_env)]
        written = {f.relpath: self.staging.write(f) for f in files}
        return Rendered(release.id, written, summary_of(release.summary, body))


_worker: ReleaseRenderer | None = None


def _init_worker(config: Config, staging: Path, bodies: Path, keep: frozenset[str]) -> None:
    global _worker
    _worker = ReleaseRenderer(config, staging, bodies, keep)


def _render_in_worker(job: ReleaseJob) -> Rendered:
    assert _worker is not None
    return _worker.render(job)


def render_releases(jobs: list[ReleaseJob], config: Config, staging: Path, bodies: Path,
                    workers: int, keep: frozenset[str] = frozenset()) -> Iterator[Rendered]:
    """Render every job, in `workers` processes when there is enough work; yields results as they come.

    The body HTML of the releases in `keep` is cached for the feeds."""
    if workers <= 1 or len(jobs) < SERIAL_LIMIT:
        renderer = ReleaseRenderer(config, staging, bodies, keep)
        yield from (renderer.render(job) for job in jobs)
        return
    chunk = max(1, min(64, len(jobs) // (workers * 4)))
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(config, staging, bodies, keep)) as pool:
        yield from pool.map(_render_in_worker, jobs, chunksize=chunk)

