"""The build pipeline: site folder -> output/.

Steps:
1. if no input file changed and no release went live since the last build: nothing to do;
2. validate pressekit.toml, every release, photo and template as `check` does (`validate.validate_site`),
   and every page of pages/ (`sitepages`);
3. choose what is public at `now` (drafts, future dates and embargoes are left out);
4. make the photo variants and ZIPs (`photos`);
5. render each release's page and e-mails (`workers`, in worker processes);
6. render list pages, feeds and sitemaps (`pages`, `feeds`);
7. put the new files into output/ (`output.apply`): nothing is touched unless every step succeeded.

Each release, list page and feed is a *group* of output files with a key that digests all it
depends on; a group whose key is unchanged since the last build is not rendered again.
"""

from __future__ import annotations

import time
import tomllib
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import CODE_KEY, Store, content_digest, digest, file_stamp, tree_stamp
from .config import Config
from .config_file import load_config
from .errors import BuildFailed
from .lock import build_lock
from .model import NEWS_WINDOW, Release, public_releases
from .output import apply_files, check_target, clear_leftovers, discard_staging, find_collisions, prepare_staging, write_error
from .paths import CACHE_DIR, CONFIG_NAME, PAGES_DIR, RELEASES_DIR
from .theme import theme_dir

if TYPE_CHECKING:
    from .photos import PhotoResult
    from .sitepages import SitePage

# Markdown, Jinja, Pillow and feedgen are imported only when something has to be built:
# a build that finds nothing changed must not pay for loading them.

Progress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    """What a build did, for `--stats` and tests."""

    releases: int = 0
    published: int = 0
    pages_rendered: int = 0
    pages_reused: int = 0
    files_written: int = 0
    files_unchanged: int = 0
    variants_made: int = 0
    variants_reused: int = 0
    up_to_date: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _State:
    """What the last successful build into one output folder left: enough to redo only what changed."""

    stamp: str                                     # digest of every input file's name, size and mtime
    now: datetime
    schedule: list[datetime]                       # sorted publication times of the releases that are not drafts
    groups: dict[str, tuple[str, dict[str, str]]]  # group -> (key, {relpath: digest})
    summaries: dict[str, str]
    output: tuple[int, int] | None = None          # (inode, mtime) of output/ after the build
    files: dict[str, tuple[int, int]] | None = None  # relpath -> (size, mtime) of every file written

    def intact(self, output: Path) -> bool:
        """True when output/ still holds every file of this state as the build left it."""
        return (self.files is not None and self.output == _dir_stamp(output)
                and all(_stat(output / rel) == stamp for rel, stamp in self.files.items()))

    def manifest(self) -> dict[str, str]:
        return {rel: d for _, files in self.groups.values() for rel, d in files.items()}

    def unchanged_at(self, now: datetime) -> bool:
        """True when no release goes live (or leaves the news window) between the last build and now."""
        lo, hi = sorted((self.now, now))
        if self.now == now:
            return True
        # a release enters the public set at its time, and the news sitemap until two days later
        shifted = (timedelta(0), NEWS_WINDOW, NEWS_WINDOW + timedelta(seconds=1))
        return not any(bisect_left(self.schedule, lo - d) < bisect_right(self.schedule, hi - d) for d in shifted)


def build_site(root: Path, output: Path, now: datetime, jobs: int | None = None,
               progress: Progress | None = None, preview: bool = False, wait: bool = True,
               on_wait: Callable[[], None] | None = None) -> BuildReport:
    """Build the site at root into output; raise BuildFailed or OutputError (output untouched) on any problem.

    One build per site runs at a time: another waits for the lock (calling on_wait) or, without wait, fails.
    """
    root, output = root.resolve(), output.resolve()
    with build_lock(root, wait, on_wait):
        return _build(root, output, now, jobs, progress, preview)


def _build(root: Path, output: Path, now: datetime, jobs: int | None, progress: Progress | None,
           preview: bool) -> BuildReport:
    report, clock = BuildReport(), _Clock()
    store = Store(root / CACHE_DIR)
    # one state per output folder; previews (a new temporary folder each session) share one
    state_name = "state-preview" if preview else "state-" + digest(output)[:16]
    previous: _State | None = store.load(state_name)
    check_target(root, output, adopt=previous is not None)
    clear_leftovers(output, root)
    if previous is not None and not previous.intact(output):
        previous = None
    stamp = _input_stamp(root)
    if previous is not None and previous.stamp == stamp and previous.unchanged_at(now):
        report.up_to_date = True
        report.files_unchanged = len(previous.manifest())
        report.pages_reused = sum(1 for rel in previous.manifest() if rel.endswith(".html"))
        clock.lap(report, "check")
        return report
    config, releases, site_pages = _load_all(root, store, now)
    report.releases = len(releases)
    chosen = _choose(releases, now, preview)
    report.published = len(chosen)
    clock.lap(report, "load")
    made = _photos(config, chosen, store, jobs, progress)
    report.variants_made, report.variants_reused = made.made, made.reused
    clock.lap(report, "photos")
    staging = prepare_staging(output, root)
    try:
        from .assemble import copied_files, render_groups
        from .owners import producers
        from .events import load_history, save_history

        try:
            rendered = render_groups(config, chosen, made, now, preview, previous.groups if previous else {},
                                     previous.summaries if previous else {}, staging, jobs, progress, site_pages,
                                     load_history(root))
        except OSError as exc:
            raise write_error(exc, root, staging, output) from exc
        collisions = find_collisions(producers(config, chosen, rendered.groups))
        if collisions:
            raise BuildFailed(collisions)
        report.pages_rendered, report.pages_reused = rendered.pages_rendered, rendered.pages_reused
        clock.lap(report, "render")
        state = _State(stamp, now, _schedule(releases), rendered.groups, rendered.summaries)
        store.drop(state_name)  # an interrupted apply must not leave a state that claims the old output
        sources = {f.relpath: f.source for f in made.files if f.source is not None}
        sources.update(copied_files(config, chosen))
        report.files_written, report.files_unchanged = apply_files(
            output, staging, state.manifest(), sources, previous.manifest() if previous else None, root)
    finally:
        discard_staging(output)
    state.output = _dir_stamp(output)
    state.files = _file_stamps(output, state.manifest())
    store.save(state_name, state)
    if not preview:
        save_history(root, rendered.history)
        _prune_photo_cache(root / CACHE_DIR / "photos", {f.source for f in made.files if f.source is not None})
    clock.lap(report, "write")
    return report


def _load_all(root: Path, store: Store, now: datetime) -> tuple[Config, list[Release], list[SitePage]]:
    """The config, the releases and the pages; raise BuildFailed with the problems of all of them."""
    from .releases import find_bundles
    from .sitepages import load_pages

    try:
        config, releases = _load(root, store, now)
    except BuildFailed as failed:
        loaded = load_config(root)[0]
        if loaded is None:
            raise
        ids = {p.parent.name for p in find_bundles(root / RELEASES_DIR)}
        raise BuildFailed(failed.errors + load_pages(loaded, ids)[1]) from None
    site_pages, errors = load_pages(config, {r.id for r in releases})
    if errors:
        raise BuildFailed(errors)
    return config, releases, site_pages


def _load(root: Path, store: Store, now: datetime) -> tuple[Config, list[Release]]:
    """validate_site (as `check` runs it) with the parse cache of this pressekit.toml, kept in shards so an
    edit rewrites one; raise BuildFailed with every problem of every kind."""
    from .validate import validate_site

    prefix = "parse-" + content_digest(root / CONFIG_NAME)[:16]
    shards = [store.load(f"{prefix}-{n}") or {} for n in range(PARSE_SHARDS)]
    cache = _ParseCache({k: v for shard in shards for k, v in shard.items()})
    found = validate_site(root, now, cache, store)
    if found.config is None or found.errors:
        raise BuildFailed(found.errors)
    config, releases = found.config, list(found.releases)
    for release in releases:
        # computed once, then kept in the cache with the release: the digests of its views start from them
        release.fingerprint, release.without_body.fingerprint  # noqa: B018
    live = {str(r.source) for r in releases} | {k for k, v in cache.items() if v[1] is None}
    for key in set(cache) - live:
        del cache[key]
    for n in sorted({_shard(k) for k in cache.dirty}):
        store.save(f"{prefix}-{n}", {k: v for k, v in cache.items() if _shard(k) == n})
    for old in store.folder.glob("parse-*.pickle"):
        if not old.name.startswith(prefix + "-"):
            old.unlink(missing_ok=True)  # the shards of an earlier pressekit.toml
    return config, releases


PARSE_SHARDS = 16


def _shard(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogateescape")) % PARSE_SHARDS


class _ParseCache(dict):  # type: ignore[type-arg]
    """The parse cache, remembering which entries changed."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.dirty: set[str] = set()

    def __setitem__(self, key: str, value: object) -> None:
        self.dirty.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.dirty.add(key)
        super().__delitem__(key)


def _prune_photo_cache(folder: Path, used: set[Path]) -> None:
    """Delete cached variants and ZIPs that no published photo uses any more (old credits, removed photos)."""
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.is_file() and path.parent != folder and path not in used:  # files at the top are its indexes
            path.unlink(missing_ok=True)


def _choose(releases: list[Release], now: datetime, preview: bool) -> list[Release]:
    """The releases to build, each as it stands at `now` (corrections made, expired photos gone, withdrawn)."""
    if preview:
        return [r.at(now) for r in sorted(releases, key=lambda r: (r.published, r.id), reverse=True)]
    return [r.at(now) for r in public_releases(releases, now)]


def _schedule(releases: list[Release]) -> list[datetime]:
    """Every time output/ changes by itself: publications, corrections, photo expiries, withdrawals, and
    press dates moving to the past."""
    return sorted([t for r in releases if not r.draft for t in (r.published, *r.changes())]
                  + [r.event.until for r in releases if not r.draft and r.event])


def _photos(config: Config, chosen: list[Release], store: Store, jobs: int | None,
            progress: Progress | None) -> PhotoResult:
    """Make the variants of the photos (validated with everything else in `_load`); raise BuildFailed on a problem."""
    from . import photos

    made = photos.make_variants(chosen, config, config.root / CACHE_DIR, jobs,
                                (lambda d, t: progress("Fotos", d, t)) if progress else None)
    if made.errors:
        raise BuildFailed(made.errors)
    return made


def _input_stamp(root: Path) -> str:
    """A digest of every input's name, size and mtime, and of the code: equal stamps mean equal inputs."""
    return digest(CODE_KEY, file_stamp(root / CONFIG_NAME),
                  tree_stamp(root / RELEASES_DIR, root / "templates", root / PAGES_DIR, theme_dir()),
                  _site_image_stamp(root))


def _site_image_stamp(root: Path) -> object:
    """The stamp of the file `[site] image` names (read from the TOML text without validating it)."""
    try:
        image = tomllib.loads((root / CONFIG_NAME).read_text("utf-8")).get("site", {}).get("image")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return file_stamp(root / image) if isinstance(image, str) and image else None


def _file_stamps(output: Path, manifest: dict[str, str]) -> dict[str, tuple[int, int]] | None:
    stamps = {}
    for rel in manifest:
        stamp = _stat(output / rel)
        if stamp is None:
            return None  # the next build cannot trust this output
        stamps[rel] = stamp
    return stamps


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _dir_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


class _Clock:
    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, report: BuildReport, stage: str) -> None:
        now = time.perf_counter()
        report.seconds[stage] = round(now - self.last, 4)
        self.last = now

