"""The build pipeline: site folder -> output/.

`_build` is the list of steps, each returning a value the later ones take:

1. if no input file changed and no release went live since the last build: nothing to do;
2. load: validate pressekit.toml, every release, photo and template as `check` does
   (`validate.validate_site`), and every page of pages/ (`sitepages`);
3. choose what is public at `now` (drafts, future dates and embargoes are left out);
4. photos: the variants and ZIPs (`photos`);
5. render into a staging folder (`assemble`): the pages of pages/, each release's page and e-mails
   (`workers`, in worker processes), the list pages and the archive and the feeds, while Pagefind
   indexes the changed years (from the start for an edit; after the worker processes for a first
   build); then the search indexes and page, the press dates, the fixed files (photos, attachments,
   robots.txt, 404) and the sitemap;
6. write: put the new files into output/ (`output.apply`): nothing is touched unless every step
   succeeded; then keep the state for the next build.

Each release page, list page and feed is a *group* of output files with a key that digests the
view it renders from and its templates; a group whose key is unchanged since the last build is
not rendered again.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import CODE_KEY, Store, content_digest, digest, file_stamp, shard_of, tree_stamp
from .errors import BuildFailed
from .lock import build_lock
from .output import apply_files, check_target, clear_leftovers, discard_staging, find_collisions, prepare_staging, write_error
from .paths import CACHE_DIR, CONFIG_NAME, PAGES_DIR, RELEASES_DIR
from .scan import TreeScan, scan_tree
from .state import Groups, Stamp, States, manifest, schedule_of
from .theme import theme_dir

if TYPE_CHECKING:
    from .config import Config
    from .events import History
    from .groups import Made
    from .model import Release
    from .photos import PhotoResult
    from .sitepages import SitePage

# Markdown, Jinja, Pillow and feedgen, and even the config and release model, are imported only when
# something has to be built: a build that finds nothing changed must not pay for loading them.

Progress = Callable[[str, int, int], None]
TEMPLATE_REFS = "template-refs"  # what each template source references (`views.TemplateDigests`)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Plan:
    """What one build is asked to do: every step reads it, no flag is passed down through the calls."""

    root: Path
    output: Path
    now: datetime
    preview: bool = False
    jobs: int | None = None
    progress: Progress | None = None

    @property
    def state_name(self) -> str:
        """One state per output folder; previews (a new temporary folder each session) share one."""
        return "state-preview" if self.preview else "state-" + digest(self.output)[:16]


def build_site(root: Path, output: Path, now: datetime, jobs: int | None = None,
               progress: Progress | None = None, preview: bool = False, wait: bool = True,
               on_wait: Callable[[], None] | None = None) -> BuildReport:
    """Build the site at root into output; raise BuildFailed or OutputError (output untouched) on any problem.

    One build per site runs at a time: another waits for the lock (calling on_wait) or, without wait, fails.
    """
    plan = Plan(root.resolve(), output.resolve(), now, preview, jobs, progress)
    with build_lock(plan.root, wait, on_wait), _collector_paused():
        return _build(plan)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A build loads hundreds of thousands of objects that live until it ends (releases, state) and makes
    few reference cycles: the cyclic collector would walk them again and again (a tenth of a second at
    10,000 releases). It runs again, and collects, when the build is over."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _build(plan: Plan) -> BuildReport:
    """The steps of a build; each returns a value the later ones take."""
    clock, store = _Clock(), Store(plan.root / CACHE_DIR)
    states = States(store, plan.state_name)
    saved = states.stamp()
    check_target(plan.root, plan.output, adopt=saved is not None)
    clear_leftovers(plan.output, plan.root)
    intact = _checking_intact(saved, plan.output)  # beside the walk of releases/, on the other core
    scan = scan_tree(plan.root / RELEASES_DIR)
    inputs = _input_stamp(plan.root, scan)
    stamp = saved if intact() else None
    if stamp is not None and stamp.inputs == inputs and stamp.unchanged_at(plan.now):
        return clock.report(_unchanged(stamp), "check")
    from . import assemble  # only now: a build that finds nothing changed must not pay for loading them
    from .events import load_history
    from .groups import context, render_pool
    from .lists import list_groups
    from .model import times_of_change

    rest = states.rest(stamp)  # the search's groups: the releases' shards load once Pagefind runs
    config, releases, site_pages = _load_all(plan.root, store, plan.now, scan)
    chosen = _choose(releases, plan)
    listed = assemble.listed(chosen)
    clock.lap("load")
    made = _photos(config, chosen, store, plan)
    clock.lap("photos")
    staging = prepare_staging(plan.output, plan.root)
    try:
        try:
            ctx = context(config, plan.now, plan.preview, plan.jobs, plan.progress,
                          rest.groups if rest else {}, staging, site_pages, store.load(TEMPLATE_REFS))
            with render_pool(ctx) as pool, assemble.Search(ctx, listed, site_pages, pool) as search:
                previous = states.built(stamp, rest)
                ctx = dataclasses.replace(ctx, previous=previous.groups if previous else {})
                pages = assemble.site_page_groups(ctx, site_pages)
                release_pages = assemble.release_groups(ctx, chosen, made, previous, pool)
                lists = list_groups(ctx, listed, made.variants, release_pages, pool, previous)
                feeds = assemble.feed_groups(ctx, chosen, made)
                calendar, history = assemble.event_groups(ctx, listed, release_pages.summaries, load_history(plan.root))
                fixed = assemble.fixed_groups(ctx, chosen, made)
                pages = _merge(pages, release_pages.made, lists.made, feeds, search.page(), calendar, fixed)
                pages = _merge(pages, assemble.sitemap_group(ctx, chosen, pages.groups))  # Pagefind's indexes hold no page
                # While Pagefind runs: the releases' state, the schedule, the manifests but for the search's
                # files, and the files copied as they are.
                shards = states.shards(pages.groups, release_pages.summaries, release_pages.views, lists.teasers)
                files, old = manifest(pages.groups), previous.manifest() if previous else None
                schedule, copied = schedule_of(times_of_change(releases)), assemble.copied_files(config, chosen)
                searched = search.finish()
            site = _merge(pages, searched)
            groups = site.groups
        except OSError as exc:
            raise write_error(exc, plan.root, staging, plan.output) from exc
        files.update(manifest(searched.groups))
        _check_collisions(config, chosen, groups, files)
        clock.lap("render")
        states.drop()  # an interrupted apply must not leave a state that claims the old output
        written = _write(plan, files, old, made, copied, staging)
    finally:
        discard_staging(plan.output)
    states.save(plan.output, inputs, plan.now, schedule, shards, searched.groups, files, lists.lists, lists.key,
                (stamp, written) if stamp is not None and written is not None else None)
    if ctx.templates.refs_changed:
        store.save(TEMPLATE_REFS, ctx.templates.used_refs)
    if not plan.preview:
        _tidy(plan.root, chosen, made, history)
    clock.lap("write")
    count = len(files) if written is None else len(written)
    return clock.report(BuildReport(len(releases), len(chosen), site.rendered, site.reused, count, len(files) - count,
                                    made.made, made.reused))


def _checking_intact(saved: Stamp | None, output: Path) -> Callable[[], bool]:
    """Start checking that output/ is as the last build left it (tens of thousands of stat calls); return
    the function that gives the answer. The check runs in a child process while this one walks the
    sources, unless threads run here (a fork copies none of them) or the system cannot fork."""
    if saved is None:
        return lambda: False
    if threading.active_count() > 1 or not hasattr(os, "fork"):
        return functools.partial(saved.intact, output)
    try:
        reader, writer = os.pipe()
        child = os.fork()
    except OSError:
        return functools.partial(saved.intact, output)
    if child == 0:  # the child: answer and leave at once, running no cleanup of the parent's
        try:
            os.close(reader)
            os.write(writer, b"1" if saved.intact(output) else b"0")
        finally:
            os._exit(0)
    os.close(writer)

    def answer() -> bool:
        try:
            with os.fdopen(reader, "rb") as pipe:
                return pipe.read(1) == b"1"
        finally:
            os.waitpid(child, 0)
    return answer


def _unchanged(stamp: Stamp) -> BuildReport:
    files = stamp.files()
    return BuildReport(files_unchanged=len(files), pages_reused=sum(1 for rel in files if rel.endswith(".html")),
                       up_to_date=True)


def _merge(*steps: Made) -> Made:
    from .groups import Made

    return Made({name: group for step in steps for name, group in step.groups.items()},
                sum(step.rendered for step in steps), sum(step.reused for step in steps))


def _check_collisions(config: Config, chosen: list[Release], groups: Groups, files: dict[str, str]) -> None:
    """Two producers of one output path (a release id `suche`, an attachment named `index.html`) fail the build.

    `files` is the manifest of groups: one entry per path.
    """
    from .owners import producers

    if len(files) == sum(len(group_files) for _, group_files in groups.values()):
        return  # every path has one producer: no need to name them
    collisions = find_collisions(producers(config, chosen, groups))
    if collisions:
        raise BuildFailed(collisions)


def _write(plan: Plan, files: dict[str, str], previous: dict[str, str] | None, made: PhotoResult,
           copied: dict[str, Path], staging: Path) -> list[str] | None:
    """Make output/ hold this build's files (relpath -> digest; `previous`: the last build's); return the
    files written (None: all)."""
    sources = {f.relpath: f.source for f in made.files if f.source is not None} | copied
    return apply_files(plan.output, staging, files, sources, previous, plan.root)


def _tidy(root: Path, chosen: list[Release], made: PhotoResult, history: History) -> None:
    """Keep the events' history; drop cached bodies and variants no published release uses any more."""
    from .events import save_history
    from .workers import BodyCache

    save_history(root, history)
    BodyCache(root / CACHE_DIR / "bodies").prune(chosen)
    _prune_photo_cache(root / CACHE_DIR / "photos", {f.source for f in made.files if f.source is not None})


def _load_all(root: Path, store: Store, now: datetime, scan: TreeScan) -> tuple[Config, list[Release], list[SitePage]]:
    """The config, the releases and the pages; raise BuildFailed with the problems of all of them."""
    from .config_file import load_config
    from .sitepages import load_pages

    try:
        config, releases = _load(root, store, now, scan)
    except BuildFailed as failed:
        loaded = load_config(root)[0]
        if loaded is None:
            raise
        raise BuildFailed(failed.errors + load_pages(loaded, scan.ids)[1]) from None
    site_pages, errors = load_pages(config, {r.id for r in releases})
    if errors:
        raise BuildFailed(errors)
    return config, releases, site_pages


def _load(root: Path, store: Store, now: datetime, scan: TreeScan) -> tuple[Config, list[Release]]:
    """validate_site (as `check` runs it) with the parse cache of this pressekit.toml, kept in shards so an
    edit rewrites one; raise BuildFailed with every problem of every kind."""
    from .model import Release, reduce_without_body
    from .validate import validate_site

    prefix = "parse-" + content_digest(root / CONFIG_NAME)[:16]
    shards = [store.load(f"{prefix}-{n}") or {} for n in range(PARSE_SHARDS)]
    cache = _ParseCache({k: v for shard in shards for k, v in shard.items()})
    found = validate_site(root, now, cache, store, scan=scan)
    if found.config is None or found.errors:
        raise BuildFailed(found.errors)
    config, releases = found.config, list(found.releases)
    for release in releases:  # computed once, then kept in the cache with the release: digests start from them
        release.keep_digests()
    for key in cache.keys() - scan.bundles.keys():  # bundles removed since
        del cache[key]
    for n in sorted({shard_of(k, PARSE_SHARDS) for k in cache.dirty}):
        store.save(f"{prefix}-{n}", {k: v for k, v in cache.items() if shard_of(k, PARSE_SHARDS) == n},
                   {Release: reduce_without_body})
    for old in store.folder.glob("parse-*.pickle"):
        if not old.name.startswith(prefix + "-"):
            old.unlink(missing_ok=True)  # the shards of an earlier pressekit.toml
    return config, releases


PARSE_SHARDS = 16


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


def _choose(releases: list[Release], plan: Plan) -> list[Release]:
    """The releases to build, each as it stands at `now` (corrections made, expired photos gone, withdrawn);
    a preview shows drafts and embargoed releases too."""
    from .model import age_order, public_releases

    if plan.preview:
        return [r.at(plan.now) for r in sorted(releases, key=age_order, reverse=True)]
    return [r.at(plan.now) for r in public_releases(releases, plan.now)]


def _photos(config: Config, chosen: list[Release], store: Store, plan: Plan) -> PhotoResult:
    """Make the variants of the photos (validated with everything else in `_load`); raise BuildFailed on a problem."""
    from . import photos

    progress = plan.progress
    made = photos.make_variants(chosen, config, config.root / CACHE_DIR, plan.jobs,
                                (lambda d, t: progress("Fotos", d, t)) if progress else None)
    if made.errors:
        raise BuildFailed(made.errors)
    return made


def _input_stamp(root: Path, scan: TreeScan) -> str:
    """A digest of every input's name, size and mtime, and of the code: equal stamps mean equal inputs."""
    return digest(CODE_KEY, file_stamp(root / CONFIG_NAME), scan.digest,
                  tree_stamp(root / "templates", root / PAGES_DIR, theme_dir()), _site_image_stamp(root))


def _site_image_stamp(root: Path) -> object:
    """The stamp of the file `[site] image` names (read from the TOML text without validating it)."""
    try:
        image = tomllib.loads((root / CONFIG_NAME).read_text("utf-8")).get("site", {}).get("image")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return file_stamp(root / image) if isinstance(image, str) and image else None


class _Clock:
    """The seconds each stage of a build took, for `--stats`."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.last, 4)
        self.last = now

    def report(self, report: BuildReport, stage: str | None = None) -> BuildReport:
        if stage:
            self.lap(stage)
        return dataclasses.replace(report, seconds=self.seconds)

