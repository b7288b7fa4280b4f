"""Render every output group of a build, reusing each group whose key is unchanged.

A group is one release page, one release's e-mails, one list page, the archive, a feed, the
sitemap, the photos or the copied files. Its key is the digest of the view it renders from
(`views`), the templates that view is rendered with and the configuration, so a group with
the key it had in the last build is not rendered again.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import events, feeds, photos, search
from .cache import CODE_KEY, content_digest, digest, file_stamp
from .config import Config
from .dates import day, lift_time
from .markup import render_html
from .model import NEWS_WINDOW, Release
from .output import OutputFile
from .pages import ListPage, PageRenderer, Teaser, Variants, robots_txt, teaser_of
from .paths import CACHE_DIR, CONFIG_NAME
from .sitepages import SitePage, site_links
from .templates import make_environment
from .text import slugify
from .theme import theme_dir
from .views import FeedEntry, MailView, ReleaseView, TemplateDigests
from .workers import BodyCache, ReleaseJob, RenderPool, Staging

Groups = dict[str, tuple[str, dict[str, str]]]  # group -> (key, {relpath: digest})
Progress = Callable[[str, int, int], None]


class Counts:
    """Pages rendered and reused while the groups are made (the tally of one render_groups call)."""

    def __init__(self) -> None:
        self.rendered = 0
        self.reused = 0


@dataclass(frozen=True)
class Rendered:
    """What rendering the groups gives the build: every group, the events' history, the releases' summaries."""

    groups: Groups
    history: events.History
    summaries: dict[str, str]   # release id -> summary, for the next build's list pages
    pages_rendered: int
    pages_reused: int


class _Groups:
    """Output groups of this build, each reused from the previous build when its key is unchanged."""

    def __init__(self, previous: Groups, staging: Path):
        self.previous = previous
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


def render_groups(config: Config, chosen: list[Release], made: photos.PhotoResult, now: datetime, preview: bool,
                  previous: Groups, previous_summaries: dict[str, str], staging: Path, jobs: int | None,
                  progress: Progress | None, site_pages: list[SitePage] | None = None,
                  history: events.History | None = None) -> Rendered:
    """Render every group whose key changed into staging; return all groups, the events' history and summaries."""
    site_pages = site_pages or []
    summaries, report = dict(previous_summaries), Counts()
    links = site_links(site_pages)
    base = digest(CODE_KEY, content_digest(config.root / CONFIG_NAME), preview, links)
    groups = _Groups(previous, staging)
    in_feeds = _feed_releases(config, chosen, now)
    env = make_environment(config, links)
    templates = TemplateDigests(env)
    pages = PageRenderer(env, config, feeds.feed_links(config))
    _page_groups(site_pages, digest(base, templates.of("page.html")), pages, groups, report)
    listed = [r for r in chosen if r.withdrawn is None]  # a withdrawn release keeps only its tombstone page
    with search.Indexing(config.root / CACHE_DIR / "search-index", staging, config.site.language) as indexing:
        search_keys = _start_search(config, listed, site_pages, base, groups, indexing)  # runs while pages render
        with RenderPool(config, staging, config.root / CACHE_DIR / "bodies", jobs or os.cpu_count() or 1,
                        links) as pool:
            _release_groups(config, chosen, made, now, preview, base, templates, groups, summaries, pool, report,
                            progress)
            _list_groups(config, listed, made, base, templates, summaries, pages, groups, pool, report)
        years = sorted(Counter(r.published.astimezone(config.site.tz).year for r in listed).items(), reverse=True)
        tags = sorted({slugify(t): t for r in reversed(listed) for t in r.tags}.items(), key=lambda x: x[1].casefold())
        archive_key = digest(base, templates.of("archive.html"), years, tags)
        if not groups.reuse("archive", archive_key):
            groups.put("archive", archive_key, [pages.archive(years, [(name, slug) for slug, name in tags])])
        _feed_group(config, in_feeds, made.variants, now, base, groups)
        for name, written in indexing.finish().items():
            groups.put_written("search:" + name, search_keys[name], {rel: _file_digest(staging / rel) for rel in written})
        if indexing.started:
            search.prune_cache(indexing.cache, search_keys.values())
    if not preview:
        BodyCache(config.root / CACHE_DIR / "bodies").prune(chosen)
    groups.put("photos", "", [f for f in made.files])
    groups.put("sources", "", [OutputFile(rel, source=src) for rel, src in sorted(copied_files(config, chosen).items())])
    names = sorted((n for n in search_keys if n != search.PAGES_INDEX), reverse=True) + \
        [n for n in search_keys if n == search.PAGES_INDEX]
    search_key = digest(base, templates.of("suche.html"), names)
    if not groups.reuse("search-page", search_key):
        groups.put("search-page", search_key, [pages.search_page(names)])
    history = _event_groups(config, listed, summaries, now, digest(base, templates.of("termine.html")), pages, groups,
                            history)
    news = any(now - NEWS_WINDOW <= r.published <= now for r in in_feeds if r.withdrawn is None)
    if not groups.reuse("robots", digest(base, news)):
        groups.put("robots", digest(base, news), [robots_txt(config, news)])
    not_found_key = digest(base, templates.of("404.html"))
    if not groups.reuse("404", not_found_key):
        groups.put("404", not_found_key, [pages.not_found()])
    urls = _sitemap_urls(config, chosen, groups)
    sitemap_key = digest(base, templates.of("sitemap.xml"), urls)
    if not groups.reuse("sitemap", sitemap_key):
        groups.put("sitemap", sitemap_key, [pages.sitemap(urls)])
    public = {r.id for r in chosen}
    return Rendered(groups.groups, history, {k: v for k, v in summaries.items() if k in public}, report.rendered,
                    report.reused)


def _start_search(config: Config, chosen: list[Release], site_pages: list[SitePage], base: str, groups: _Groups,
                  indexing: search.Indexing) -> dict[str, str]:
    """Start indexing each year of releases, and the pages, whose items changed; return every index's key.

    An edit re-indexes one year; Pagefind's `mergeIndex` joins the indexes in the browser.
    """
    by_year: dict[str, list[Release]] = defaultdict(list)
    for release in chosen:
        by_year[str(release.published.astimezone(config.site.tz).year)].append(release)
    texts = search.TextCache(config.root / CACHE_DIR / "search-texts")
    keys: dict[str, str] = {}
    for year, releases in sorted(by_year.items()):
        keys[year] = digest(base, "search", [r.fingerprint for r in releases])
        if not groups.reuse("search:" + year, keys[year]):
            indexing.start(year, keys[year], functools.partial(_records, releases, texts, config))
    if site_pages:
        name = search.PAGES_INDEX
        keys[name] = digest(base, "search", [repr(p) for p in site_pages])
        if not groups.reuse("search:" + name, keys[name]):
            indexing.start(name, keys[name], lambda: [search.Record(f"{p.slug}/", p.title, "", render_html(p.body))
                                                      for p in site_pages])
    if indexing.started:
        texts.prune({r.id for r in chosen})
    return keys


def _records(releases: list[Release], texts: search.TextCache, config: Config) -> list[search.Record]:
    return [_record(r, texts.get(r.id, r.body, render_html), config) for r in releases]


def _record(release: Release, body_html: str, config: Config) -> search.Record:
    local = release.published.astimezone(config.site.tz)
    return search.Record(f"{release.id}/", release.title, day(release.published, config.site.tz), body_html, release.subtitle,
                         release.tags, str(local.year))


def _file_digest(path: Path) -> str:
    """sha256 of a file's bytes, as the staging writer records it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _event_groups(config: Config, chosen: list[Release], summaries: dict[str, str], now: datetime, base: str,
                  pages: PageRenderer, groups: _Groups, history: events.History | None) -> events.History:
    """termine/, termine.ics and each event's termin.ics; return the history with this build's sequences."""
    current = [events.entry_of(r, r.event, summaries[r.id], config) for r in chosen if r.event]
    entries, kept = events.apply_history(current, history or {})
    public = {r.id for r in chosen}
    shown = [e for e in entries if e.release_id in public]
    upcoming = [e for e in shown if (e.end or e.start) >= now]
    past = sorted((e for e in shown if (e.end or e.start) < now), key=lambda e: (e.start, e.uid), reverse=True)
    key = digest(base, upcoming, past)
    if not groups.reuse("termine", key):
        groups.put("termine", key, [pages.termine(upcoming, past)])
    key = digest(base, entries)
    if not groups.reuse("calendar", key):
        name = f"Termine: {config.site.organisation}"
        groups.put("calendar", key, [events.calendar_file(events.CALENDAR_PATH, entries, config, name)])
    for entry in shown:
        key = digest(base, entry)
        if not groups.reuse("event:" + entry.release_id, key):
            groups.put("event:" + entry.release_id, key, [events.calendar_file(
                f"{entry.release_id}/{events.EVENT_FILE}", [entry], config, entry.title)])
    return kept


def _page_groups(site_pages: list[SitePage], base: str, pages: PageRenderer, groups: _Groups,
                 report: Counts) -> None:
    """The pages from pages/ whose source changed."""
    for sitepage in site_pages:
        key = digest(base, repr(sitepage))
        if groups.reuse("sitepage:" + sitepage.slug, key):
            report.reused += 1
        else:
            groups.put("sitepage:" + sitepage.slug, key, [pages.site_page(sitepage, render_html(sitepage.body))])
            report.rendered += 1


def _list_groups(config: Config, chosen: list[Release], made: photos.PhotoResult, base: str,
                 templates: TemplateDigests, summaries: dict[str, str], pages: PageRenderer, groups: _Groups,
                 pool: RenderPool, report: Counts) -> None:
    """Index, year and tag pages whose view or templates changed."""
    teasers = [teaser_of(r, summaries[r.id], made.variants, config) for r in chosen]
    todo: dict[str, tuple[str, ListPage]] = {}
    for spec in list_specs(pages, config, teasers):
        key = digest(base, templates.of(spec.template), spec.digest)
        if groups.reuse("list:" + spec.relpath, key):
            report.reused += 1
        else:
            todo[spec.relpath] = (key, spec)
    for relpath, written in pool.list_pages([spec for _, spec in todo.values()]):
        groups.put_written("list:" + relpath, todo[relpath][0], {relpath: written})
        report.rendered += 1


def _release_groups(config: Config, chosen: list[Release], made: photos.PhotoResult, now: datetime, preview: bool,
                    base: str, templates: TemplateDigests, groups: _Groups, summaries: dict[str, str],
                    pool: RenderPool, report: Counts, progress: Progress | None) -> None:
    """Render the page and the e-mails of every release whose view or templates changed.

    Page and e-mails are separate groups: a page template edit renders the pages only.
    """
    zips = {f.relpath: f for f in made.files if f.relpath.endswith("/fotos.zip")}
    attach = config.email.attach_photos
    files = {f.relpath: f.source for f in made.files if f.source is not None} if attach else {}
    banner = _banner(now, config) if preview else (lambda release: "")
    page_templates = templates.of("release.html")
    mail_templates = templates.of("email-ots.txt" if config.email.layout == "ots" else "email.txt", "email.html")
    keys: dict[str, tuple[str, str]] = {}
    todo: list[ReleaseJob] = []
    for release in chosen:
        zip_file = zips.get(f"{release.id}/fotos.zip")
        variants = {(release.id, p.file): made.variants.get((release.id, p.file), ()) for p in release.photos}
        page = ReleaseView(release, variants, {a.file: a.path.stat().st_size for a in release.attachments},
                           len(zip_file.read()) if zip_file else None, banner(release))
        mail = MailView(release, variants, {rel: path for rel, path in files.items() if rel.startswith(f"{release.id}/")},
                        page.attachment_sizes)
        keys[release.id] = (digest(base, page_templates, page.digest), digest(base, mail_templates, mail.digest))
        page_kept = release.id in summaries and groups.reuse("page:" + release.id, keys[release.id][0])
        # a withdrawn release has no e-mails any more: no mail group, so its files leave output/
        mail_kept = release.withdrawn is not None or groups.reuse("mail:" + release.id, keys[release.id][1])
        if page_kept and mail_kept:
            report.reused += 1
        else:
            todo.append(ReleaseJob(release.id, None if page_kept else page, None if mail_kept else mail))
    for n, rendered in enumerate(pool.releases(todo), 1):
        page_key, mail_key = keys[rendered.id]
        if rendered.summary is not None:
            groups.put_written("page:" + rendered.id, page_key, rendered.page)
            summaries[rendered.id] = rendered.summary
        if rendered.mail:
            groups.put_written("mail:" + rendered.id, mail_key, rendered.mail)
        report.rendered += 1
        if progress:
            progress("Seiten", n, len(todo))


def list_specs(pages: PageRenderer, config: Config, teasers: list[Teaser]) -> list[ListPage]:
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
        wanted = n < limit or now - NEWS_WINDOW <= release.published <= now
        for slug in {slugify(t) for t in release.tags}:
            per_tag[slug] += 1
            wanted = wanted or per_tag[slug] <= limit
        if wanted:
            listed.append(release)
    return listed


def _feed_group(config: Config, subset: list[Release], variants: Variants, now: datetime, base: str,
                groups: _Groups) -> None:
    """Each feed and the news sitemap: rendered again only when the entry of a release it lists changed."""
    limit = config.feeds.items
    parts: dict[str, list[Release]] = {"main": subset[:limit],
                                       "news": [r for r in subset if now - NEWS_WINDOW <= r.published <= now]}
    for release in subset:
        for slug in dict.fromkeys(slugify(t) for t in release.tags):
            parts.setdefault(f"tag:{slug}", [])
            if len(parts[f"tag:{slug}"]) < limit:
                parts[f"tag:{slug}"].append(release)
    entries = {r.id: FeedEntry(r, {(r.id, p.file): variants.get((r.id, p.file), ()) for p in r.photos}).digest
               for r in subset}
    todo: dict[str, str] = {}
    for part, releases in parts.items():
        key = digest(base, part, [entries[r.id] for r in releases])
        if not groups.reuse("feeds:" + part, key):
            todo[part] = key
    if not todo:
        return
    needed = {r.id: r for part in todo for r in parts[part]}
    bodies = BodyCache(config.root / CACHE_DIR / "bodies")
    files = feeds.render_feeds([r for r in subset if r.id in needed], config, variants, bodies.html, now, parts=todo)
    by_part: dict[str, list[OutputFile]] = defaultdict(list)
    for f in files:
        by_part[feeds.feed_part(f.relpath)].append(f)
    for part, key in todo.items():
        groups.put("feeds:" + part, key, by_part[part])


def copied_files(config: Config, chosen: list[Release]) -> dict[str, Path]:
    """Files copied as they are: attachments, the theme's assets and the site's share picture."""
    found: dict[str, Path] = {}
    for folder in (theme_dir() / "assets", config.root / "templates" / "assets"):
        if folder.is_dir():
            found.update({f"assets/{p.name}": p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")})
    if config.site.image:
        found[f"assets/{Path(config.site.image).name}"] = config.root / config.site.image
    for release in chosen:
        found.update({f"{release.id}/{a.file}": a.path for a in release.attachments})
    return found


def _sitemap_urls(config: Config, chosen: list[Release], groups: _Groups) -> list[tuple[str, datetime | None]]:
    modified = {r.id: (r.modified or r.published) for r in chosen}
    withdrawn = {f"{r.id}/index.html" for r in chosen if r.withdrawn is not None}
    urls = []
    for _, files in groups.groups.values():
        for relpath in files:
            if relpath.endswith("index.html") and relpath not in withdrawn:
                path = relpath.removesuffix("index.html")
                urls.append((config.site.base_url + path, modified.get(path.rstrip("/"))))
    return sorted(urls, key=lambda u: u[0])


def _banner(now: datetime, config: Config) -> Callable[[Release], str]:
    """The preview banner of a release that is not public at now (preview only, never in a build)."""
    def banner(release: Release) -> str:
        if release.draft:
            return "ENTWURF – nicht veröffentlicht"
        if release.published > now:
            return "SPERRFRIST bis " + lift_time(release.published, config.site.tz)
        return ""
    return banner


