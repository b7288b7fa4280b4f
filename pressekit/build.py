"""The build pipeline: site folder -> output/.

Steps:
1. load pressekit.toml and every release, validating everything (`releases.load_site`);
2. check every photo of the public releases (format, size, integrity);
3. choose what is public at `now` (drafts, future dates and embargoes are left out);
4. render each release body to safe HTML;
5. make the photo variants and ZIPs (cached, parallel);
6. render release pages, e-mails, list pages, feeds and sitemaps;
7. replace output/ with the new tree, only when every step succeeded.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import feeds, mail, photos
from .config import Config
from .errors import BuildFailed, SourceError, display_path
from .markup import render_html
from .model import Release, public_releases
from .output import OutputFile, write_tree
from .pages import PageRenderer, release_url, teaser
from .releases import load_site
from .slugs import slugify
from .templates import make_environment, theme_dir

Progress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    """What a build did, for `--stats` and tests."""

    releases: int = 0
    published: int = 0
    pages: int = 0
    files_written: int = 0
    files_unchanged: int = 0
    variants_made: int = 0
    variants_reused: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def build_site(root: Path, output: Path, now: datetime, jobs: int | None = None,
               progress: Progress | None = None, preview: bool = False) -> BuildReport:
    """Build the site at root into output; raise BuildFailed (output untouched) on any problem."""
    report, clock = BuildReport(), _Clock()
    config, releases = load_site(root)
    report.releases = len(releases)
    chosen = _choose(releases, now, preview)
    report.published = len(chosen)
    _check_photos(config, chosen)
    clock.lap(report, "load")
    bodies = {r.id: render_html(r.body) for r in chosen}
    clock.lap(report, "markdown")
    made = photos.make_variants(chosen, config, root / ".pressekit" / "cache", jobs,
                                (lambda d, t: progress("Fotos", d, t)) if progress else None)
    if made.errors:
        raise BuildFailed(made.errors)
    report.variants_made, report.variants_reused = made.made, made.reused
    clock.lap(report, "photos")
    files = render_outputs(config, chosen, bodies, made.variants, made.files, now, preview)
    report.pages = sum(1 for f in files if f.relpath.endswith(".html"))
    clock.lap(report, "render")
    report.files_written, report.files_unchanged = write_tree(files, output)
    clock.lap(report, "write")
    return report


def _choose(releases: list[Release], now: datetime, preview: bool) -> list[Release]:
    if preview:
        return sorted(releases, key=lambda r: (r.published, r.id), reverse=True)
    return public_releases(releases, now)


def _check_photos(config: Config, releases: list[Release]) -> None:
    errors: list[SourceError] = []
    for release in releases:
        shown = display_path(release.source, config.root)
        for photo in release.photos:
            errors.extend(photos.check_photo(photo, shown))
    if errors:
        raise BuildFailed(errors)


def render_outputs(config: Config, releases: list[Release], bodies: dict[str, str], variants: photos.VariantMap,
                   photo_files: list[OutputFile], now: datetime, preview: bool = False) -> list[OutputFile]:
    """Every output file of the chosen releases, photos included."""
    env = make_environment(config)
    renderer = PageRenderer(env, config, feeds.feed_links(config), _banner(now) if preview else None)
    body_of = lambda release: bodies[release.id]  # noqa: E731
    files = list(photo_files)
    for release in releases:
        sizes = {a.file: a.path.stat().st_size for a in release.attachments}
        zip_file = next((f for f in photo_files if f.relpath == f"{release.id}/fotos.zip"), None)
        zip_size = len(zip_file.read()) if zip_file else None
        files.append(renderer.release_page(release, bodies[release.id], variants, sizes, zip_size))
        files.extend(mail.email_files(release, config, variants, bodies[release.id]))
        files.extend(OutputFile(f"{release.id}/{a.file}", source=a.path) for a in release.attachments)
    teasers = [teaser(r, variants, body_of) for r in releases]
    files.extend(_list_pages(renderer, config, teasers))
    files.extend(feeds.render_feeds(releases, config, variants, body_of, now))
    files.append(renderer.not_found())
    files.extend(theme_assets(config))
    files.append(renderer.sitemap(_sitemap_urls(config, releases, files)))
    return files


def theme_assets(config: Config) -> list[OutputFile]:
    """assets/* of the default theme, each replaced by the site's templates/assets/ file of that name."""
    found: dict[str, Path] = {}
    for folder in (theme_dir() / "assets", config.root / "templates" / "assets"):
        if folder.is_dir():
            found.update({p.name: p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")})
    return [OutputFile(f"assets/{name}", source=path) for name, path in sorted(found.items())]


def _list_pages(renderer: PageRenderer, config: Config, teasers: list) -> list[OutputFile]:
    by_year: dict[int, list] = defaultdict(list)
    by_tag: dict[str, list] = defaultdict(list)
    names: dict[str, str] = {}
    for t in teasers:
        by_year[t.release.published.astimezone(config.site.tz).year].append(t)
        for tag in t.release.tags:
            by_tag[slugify(tag)].append(t)
            names.setdefault(slugify(tag), tag)
    years = sorted(by_year, reverse=True)
    tags = sorted(((names[s], s, len(by_tag[s])) for s in by_tag), key=lambda x: x[0].casefold())
    common = {"years": years, "tags": tags}
    files = list(renderer.list_pages(teasers, "", config.site.title, kind="index", **common))
    for year in years:
        files.extend(renderer.list_pages(by_year[year], f"{year}/", f"Pressemitteilungen {year}",
                                         kind="year", **common))
    for slug in by_tag:
        files.extend(renderer.list_pages(by_tag[slug], f"themen/{slug}/", f"Thema: {names[slug]}",
                                         template="tag.html", kind="tag", tag=names[slug],
                                         tag_feed=feeds.tag_feed_url(config, names[slug]), **common))
    return files


def _sitemap_urls(config: Config, releases: list[Release], files: list[OutputFile]) -> list[tuple[str, datetime | None]]:
    modified = {r.id: (r.updated or r.published) for r in releases}
    urls = []
    for f in files:
        if f.relpath.endswith("index.html"):
            path = f.relpath.removesuffix("index.html")
            urls.append((config.site.base_url + path, modified.get(path.rstrip("/"))))
    return sorted(urls, key=lambda u: u[0])


def _banner(now: datetime) -> Callable[[Release], str]:
    def banner(release: Release) -> str:
        if release.draft:
            return "ENTWURF – nicht veröffentlicht"
        if release.published > now:
            return "SPERRFRIST bis " + release.published.strftime("%d.%m.%Y, %H:%M Uhr")
        return ""
    return banner


class _Clock:
    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, report: BuildReport, stage: str) -> None:
        now = time.perf_counter()
        report.seconds[stage] = round(now - self.last, 4)
        self.last = now


__all__ = ["BuildReport", "build_site", "render_outputs", "release_url"]
