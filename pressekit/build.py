"""The build pipeline: site folder -> output/.

Steps:
1. if no input file changed and no release went live since the last build: nothing to do;
2. load pressekit.toml and every release, validating everything (`releases.load_site`);
3. choose what is public at `now` (drafts, future dates and embargoes are left out);
4. check every photo of those releases, then make the variants and ZIPs (`photos`);
5. render each release's page and e-mails (`render`, in worker processes);
6. render list pages, feeds and sitemaps (`pages`, `feeds`);
7. put the new files into output/ (`output.apply`): nothing is touched unless every step succeeded.

Each release, list page and feed is a *group* of output files with a key that digests all it
depends on; a group whose key is unchanged since the last build is not rendered again.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from . import feeds, photos
from .cache import CODE_KEY, Store, content_digest, digest, file_stamp, tree_stamp
from .config import CONFIG_NAME, Config
from .errors import BuildFailed, SourceError, display_path
from .model import Release, public_releases
from .output import OutputFile, apply_files
from .pages import ListPage, PageRenderer, Teaser, teaser_of
from .releases import RELEASES_DIR, load_site
from .render import BodyCache, ReleaseJob, Staging, render_releases
from .slugs import slugify
from .templates import make_environment, theme_dir

Progress = Callable[[str, int, int], None]
CACHE_DIR = Path(".pressekit") / "cache"


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
    schedule: list[datetime]                       # times at which the published set or news window changes
    groups: dict[str, tuple[str, dict[str, str]]]  # group -> (key, {relpath: digest})
    summaries: dict[str, str]
    output: tuple[int, int] | None = None          # (inode, mtime) of output/ after the build

    def manifest(self) -> dict[str, str]:
        return {rel: d for _, files in self.groups.values() for rel, d in files.items()}

    def unchanged_at(self, now: datetime) -> bool:
        """True when no release goes live (or leaves the news window) between the last build and now."""
        lo, hi = sorted((self.now, now))
        return self.now == now or not any(lo <= t <= hi for t in self.schedule)


def build_site(root: Path, output: Path, now: datetime, jobs: int | None = None,
               progress: Progress | None = None, preview: bool = False) -> BuildReport:
    """Build the site at root into output; raise BuildFailed (output untouched) on any problem."""
    root, output = root.resolve(), output.resolve()
    report, clock = BuildReport(), _Clock()
    store = Store(root / CACHE_DIR)
    # one state per output folder; previews (a new temporary folder each session) share one
    state_name = "state-preview" if preview else "state-" + digest(output)[:16]
    previous: _State | None = store.load(state_name)
    if previous is not None and previous.output != _dir_stamp(output):
        previous = None
    stamp = _input_stamp(root)
    if previous is not None and previous.stamp == stamp and previous.unchanged_at(now):
        report.up_to_date = True
        report.files_unchanged = len(previous.manifest())
        report.pages_reused = sum(1 for rel in previous.manifest() if rel.endswith(".html"))
        clock.lap(report, "check")
        return report
    config, releases = _load(root, store)
    report.releases = len(releases)
    chosen = _choose(releases, now, preview)
    report.published = len(chosen)
    clock.lap(report, "load")
    made = _photos(config, chosen, store, jobs, progress)
    report.variants_made, report.variants_reused = made.made, made.reused
    clock.lap(report, "photos")
    staging = output.with_name(f".{output.name}.new")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        state = _render(config, chosen, made, now, preview, previous, staging, report, jobs, progress)
        clock.lap(report, "render")
        state.stamp, state.schedule = stamp, _schedule(releases)
        store.drop(state_name)  # an interrupted apply must not leave a state that claims the old output
        sources = {f.relpath: f.source for f in made.files if f.source is not None}
        sources.update(_sources(config, chosen))
        report.files_written, report.files_unchanged = apply_files(
            output, staging, state.manifest(), sources, previous.manifest() if previous else None)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    state.output = _dir_stamp(output)
    store.save(state_name, state)
    clock.lap(report, "write")
    return report


def _load(root: Path, store: Store) -> tuple[Config, list[Release]]:
    """load_site with the parse cache of this pressekit.toml."""
    name = "parse-" + content_digest(root / CONFIG_NAME)[:16]
    cache = store.load(name) or {}
    config, releases = load_site(root, cache)
    store.save(name, cache)
    return config, releases


def _choose(releases: list[Release], now: datetime, preview: bool) -> list[Release]:
    if preview:
        return sorted(releases, key=lambda r: (r.published, r.id), reverse=True)
    return public_releases(releases, now)


def _schedule(releases: list[Release]) -> list[datetime]:
    times = {r.published for r in releases if not r.draft}
    return sorted(times | {t + feeds.NEWS_WINDOW for t in times} | {t + feeds.NEWS_WINDOW + timedelta(seconds=1) for t in times})


def _photos(config: Config, chosen: list[Release], store: Store, jobs: int | None,
            progress: Progress | None) -> photos.PhotoResult:
    """Check every photo (cached by file stamp), then make the variants; raise BuildFailed on any problem."""
    checked: dict[tuple[str, object], list[SourceError]] = store.load("photo-checks") or {}
    errors: list[SourceError] = []
    for release in chosen:
        shown = display_path(release.source, config.root)
        for index, photo in enumerate(release.photos):
            key = (f"{shown}:{photo.line}:{index}:{photo.path}", file_stamp(photo.path))
            if key not in checked:
                checked[key] = photos.check_photo(photo, shown, index)
            errors.extend(checked[key])
    store.save("photo-checks", {k: v for k, v in checked.items() if not v})
    if errors:
        raise BuildFailed(errors)
    made = photos.make_variants(chosen, config, config.root / CACHE_DIR, jobs,
                                (lambda d, t: progress("Fotos", d, t)) if progress else None)
    if made.errors:
        raise BuildFailed(made.errors)
    return made


class _Groups:
    """Output groups of this build, each reused from the previous build when its key is unchanged."""

    def __init__(self, previous: _State | None, staging: Path):
        self.previous = previous.groups if previous else {}
        self.staging = Staging(staging)
        self.groups: dict[str, tuple[str, dict[str, str]]] = {}

    def reuse(self, name: str, key: str) -> bool:
        old = self.previous.get(name)
        if old is not None and old[0] == key:
            self.groups[name] = old
            return True
        return False

    def put(self, name: str, key: str, files: list[OutputFile]) -> None:
        self.groups[name] = (key, {f.relpath: (self.staging.write(f) if f.data is not None
                                               else "source:" + _source_key(f.source)) for f in files})

    def put_written(self, name: str, key: str, written: dict[str, str]) -> None:
        self.groups[name] = (key, written)


def _source_key(path: Path | None) -> str:
    return f"{path}:{file_stamp(path)}" if path else ""


def _render(config: Config, chosen: list[Release], made: photos.PhotoResult, now: datetime, preview: bool,
            previous: _State | None, staging: Path, report: BuildReport, jobs: int | None,
            progress: Progress | None) -> _State:
    """Render every group whose key changed; return the new state (stamp and schedule filled by the caller)."""
    base = digest(CODE_KEY, content_digest(config.root / CONFIG_NAME), _theme_digest(config), preview)
    groups = _Groups(previous, staging)
    summaries = dict(previous.summaries) if previous else {}
    in_feeds = _feed_releases(config, chosen, now)
    keys = _release_groups(config, chosen, made, now, preview, base, groups, summaries, staging, report, jobs,
                           progress, frozenset(r.id for r in in_feeds))
    env = make_environment(config)
    pages = PageRenderer(env, config, feeds.feed_links(config))
    teasers = [teaser_of(r, summaries[r.id], made.variants) for r in chosen]
    for spec in _list_specs(pages, config, teasers):
        key = digest(base, spec.relpath, spec.template, spec.title, spec.pager, spec.extra,
                     [_teaser_key(t) for t in spec.items])
        if groups.reuse("list:" + spec.relpath, key):
            report.pages_reused += 1
        else:
            groups.put("list:" + spec.relpath, key, [pages.render_list(spec)])
            report.pages_rendered += 1
    years = sorted(Counter(r.published.astimezone(config.site.tz).year for r in chosen).items(), reverse=True)
    tags = sorted({slugify(t): t for r in reversed(chosen) for t in r.tags}.items(), key=lambda x: x[1].casefold())
    archive_key = digest(base, years, tags)
    if not groups.reuse("archive", archive_key):
        groups.put("archive", archive_key, [pages.archive(years, [(name, slug) for slug, name in tags])])
    _feed_group(config, in_feeds, made.variants, now, base, keys, groups)
    groups.put("photos", "", [f for f in made.files])
    groups.put("sources", "", [OutputFile(rel, source=src) for rel, src in sorted(_sources(config, chosen).items())])
    if not groups.reuse("404", base):
        groups.put("404", base, [pages.not_found()])
    urls = _sitemap_urls(config, chosen, groups)
    sitemap_key = digest(base, urls)
    if not groups.reuse("sitemap", sitemap_key):
        groups.put("sitemap", sitemap_key, [pages.sitemap(urls)])
    live = {r.id for r in chosen}
    return _State("", now, [], groups.groups, {k: v for k, v in summaries.items() if k in live})


def _release_groups(config: Config, chosen: list[Release], made: photos.PhotoResult, now: datetime, preview: bool,
                    base: str, groups: _Groups, summaries: dict[str, str], staging: Path, report: BuildReport,
                    jobs: int | None, progress: Progress | None, keep: frozenset[str]) -> dict[str, str]:
    """Render the page and e-mails of every release whose key changed; return release id -> key."""
    zips = {f.relpath: f for f in made.files if f.relpath.endswith("/fotos.zip")}
    attach = config.email.attach_photos
    files = {f.relpath: f.source for f in made.files if f.source is not None} if attach else {}
    banner = _banner(now, config) if preview else (lambda release: "")
    keys: dict[str, str] = {}
    todo: list[ReleaseJob] = []
    for release in chosen:
        zip_file = zips.get(f"{release.id}/fotos.zip")
        job = ReleaseJob(release, {(release.id, p.file): made.variants.get((release.id, p.file), ()) for p in release.photos},
                         {a.file: a.path.stat().st_size for a in release.attachments},
                         len(zip_file.read()) if zip_file else None, banner(release),
                         {rel: path for rel, path in files.items() if rel.startswith(f"{release.id}/")})
        keys[release.id] = digest(base, repr(job))
        if release.id in summaries and groups.reuse("release:" + release.id, keys[release.id]):
            report.pages_reused += 1
        else:
            todo.append(job)
    for n, rendered in enumerate(render_releases(todo, config, staging, config.root / CACHE_DIR / "bodies",
                                                 jobs or os.cpu_count() or 1, keep), 1):
        groups.put_written("release:" + rendered.id, keys[rendered.id], rendered.files)
        summaries[rendered.id] = rendered.summary
        report.pages_rendered += 1
        if progress:
            progress("Seiten", n, len(todo))
    return keys


def _teaser_key(t: Teaser) -> str:
    r = t.release
    return digest(r.id, r.title, r.published.isoformat(), r.tags, t.summary, t.thumb, t.thumb_alt)


def _list_specs(pages: PageRenderer, config: Config, teasers: list[Teaser]) -> list[ListPage]:
    by_year: dict[int, list[Teaser]] = defaultdict(list)
    by_tag: dict[str, list[Teaser]] = defaultdict(list)
    names: dict[str, str] = {}
    for t in teasers:
        by_year[t.release.published.astimezone(config.site.tz).year].append(t)
        for tag in t.release.tags:
            by_tag[slugify(tag)].append(t)
            names.setdefault(slugify(tag), tag)
    years = tuple(sorted(by_year, reverse=True))
    tags = tuple(sorted(((names[s], s) for s in by_tag), key=lambda x: x[0].casefold()))
    specs = list(pages.list_pages(teasers, "", config.site.title, kind="index", years=years, tags=tags))
    for year in years:
        specs.extend(pages.list_pages(by_year[year], f"{year}/", f"Pressemitteilungen {year}",
                                      kind="year", years=years, tags=tags))
    for slug in sorted(by_tag):
        specs.extend(pages.list_pages(by_tag[slug], f"themen/{slug}/", f"Thema: {names[slug]}", template="tag.html",
                                      kind="tag", tag=names[slug], tag_feed=feeds.tag_feed_url(config, names[slug]),
                                      years=years, tags=tags))
    return specs


def _feed_releases(config: Config, chosen: list[Release], now: datetime) -> list[Release]:
    """The releases some feed lists: the newest overall, the newest per tag, and the news window."""
    limit = config.feeds.items
    per_tag: dict[str, int] = defaultdict(int)
    listed: list[Release] = []
    for n, release in enumerate(chosen):
        wanted = n < limit or now - feeds.NEWS_WINDOW <= release.published <= now
        for slug in {slugify(t) for t in release.tags}:
            per_tag[slug] += 1
            wanted = wanted or per_tag[slug] <= limit
        if wanted:
            listed.append(release)
    return listed


def _feed_group(config: Config, subset: list[Release], variants: photos.VariantMap, now: datetime, base: str,
                keys: dict[str, str], groups: _Groups) -> None:
    """The feeds and the news sitemap: rendered again only when a release they list changed."""
    recent = [r.id for r in subset if now - feeds.NEWS_WINDOW <= r.published <= now]
    key = digest(base, [keys[r.id] for r in subset], recent)
    if groups.reuse("feeds", key):
        return
    bodies = BodyCache(config.root / CACHE_DIR / "bodies")
    groups.put("feeds", key, feeds.render_feeds(subset, config, variants, bodies.html, now))


def _sources(config: Config, chosen: list[Release]) -> dict[str, Path]:
    """Files copied as they are: attachments and the theme's assets."""
    found: dict[str, Path] = {}
    for folder in (theme_dir() / "assets", config.root / "templates" / "assets"):
        if folder.is_dir():
            found.update({f"assets/{p.name}": p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")})
    for release in chosen:
        found.update({f"{release.id}/{a.file}": a.path for a in release.attachments})
    return found


def _sitemap_urls(config: Config, chosen: list[Release], groups: _Groups) -> list[tuple[str, datetime | None]]:
    modified = {r.id: (r.updated or r.published) for r in chosen}
    urls = []
    for _, files in groups.groups.values():
        for relpath in files:
            if relpath.endswith("index.html"):
                path = relpath.removesuffix("index.html")
                urls.append((config.site.base_url + path, modified.get(path.rstrip("/"))))
    return sorted(urls, key=lambda u: u[0])


def _theme_digest(config: Config) -> str:
    paths = [p for folder in (theme_dir(), config.root / "templates") if folder.is_dir()
             for p in sorted(folder.rglob("*")) if p.is_file()]
    return content_digest(*paths)


def _input_stamp(root: Path) -> str:
    """A digest of every input's name, size and mtime, and of the code: equal stamps mean equal inputs."""
    return digest(CODE_KEY, file_stamp(root / CONFIG_NAME),
                  tree_stamp(root / RELEASES_DIR, root / "templates", theme_dir()))


def _dir_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _banner(now: datetime, config: Config) -> Callable[[Release], str]:
    """The preview banner of a release that is not public at now (preview only, never in a build)."""
    def banner(release: Release) -> str:
        if release.draft:
            return "ENTWURF – nicht veröffentlicht"
        if release.published > now:
            return "SPERRFRIST bis " + release.published.astimezone(config.site.tz).strftime("%d.%m.%Y, %H:%M Uhr")
        return ""
    return banner


class _Clock:
    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, report: BuildReport, stage: str) -> None:
        now = time.perf_counter()
        report.seconds[stage] = round(now - self.last, 4)
        self.last = now

