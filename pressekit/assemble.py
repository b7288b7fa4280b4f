"""The steps of a build that render output groups (see `groups`): each takes the shared `Context`,
renders only the groups whose key changed into the staging folder and returns its groups as a `Made`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from . import events, photos, search
from .cache import digest
from .config import Config
from .dates import NEWS_WINDOW, day, lift_time
from .feed_items import feed_part
from .groups import Collector, Context, Made, ReleasesMade
from .markup import render_html
from .model import Release
from .output import OutputFile
from .pages import robots_txt
from .paths import CACHE_DIR
from .sitepages import SitePage
from .state import Built, Groups, ViewKeys
from .text import slugify
from .theme import theme_dir
from .views import FeedEntry, MailView, ReleaseView
from .workers import BodyCache, ReleaseJob, RenderPool



def listed(chosen: list[Release]) -> list[Release]:
    """The releases lists, feeds, search and the calendar show: a withdrawn one keeps only its tombstone page."""
    return [r for r in chosen if r.withdrawn is None]


class Search:
    """The search indexes: planned and, for an edit, started on entering, so that Pagefind runs while
    everything else renders; collected by `finish`.

    One index per year of releases (per part of a year that has many, see `search.parts_of_year`) and
    one for the pages, so an edit re-indexes its part only (Pagefind's `mergeIndex` joins them in the
    browser).
    """

    def __init__(self, ctx: Context, releases: list[Release], site_pages: list[SitePage], pool: RenderPool):
        self.ctx, self.releases, self.site_pages, self.pool = ctx, releases, site_pages, pool
        self.collector = Collector(ctx)
        self.indexing = search.Indexing(ctx.config.root / CACHE_DIR / "search-index", ctx.staging,
                                        ctx.config.site.language)
        self.keys: dict[str, str] = {}
        self.todo: dict[str, list[search.Source]] = {}  # index -> its documents, to index
        self.started = False

    def __enter__(self) -> Search:
        """Plan the indexes, and start Pagefind at once when it has a few releases to index (an edit);
        when it has many (a first build), it waits in `finish` for the worker processes to stop, so the
        processes of both never hold memory and the cores at once."""
        self.indexing.__enter__()
        try:
            self._plan()
            if sum(map(len, self.todo.values())) <= EARLY_INDEXING:
                self._start()
        except BaseException:
            self.indexing.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.indexing.__exit__(*exc)

    def _plan(self) -> None:
        config = self.ctx.config
        by_year: dict[int, list[tuple[Release, datetime]]] = defaultdict(list)
        for release in self.releases:
            local = release.published.astimezone(config.site.tz)
            by_year[local.year].append((release, local))
        by_index: dict[str, list[Release]] = defaultdict(list)
        for year, dated in by_year.items():
            parts = search.parts_of_year(len(dated))
            for release, local in dated:
                by_index[search.index_name(year, local.month, parts)].append(release)
        bodies = BodyCache(config.root / CACHE_DIR / "bodies")  # the release pages' bodies: no Markdown twice
        for name, releases in sorted(by_index.items()):
            self.keys[name] = digest(self.ctx.base, "search", [r.fingerprint for r in releases])
            if not self.collector.reuse("search:" + name, self.keys[name]):
                self.todo[name] = [search.Source(f"{r.id}/", digest(self.ctx.base, r.fingerprint),
                                                 functools.partial(_record, r, bodies, config)) for r in releases]
        if self.site_pages:
            name, pages = search.PAGES_INDEX, self.site_pages
            self.keys[name] = digest(self.ctx.base, "search", [repr(p) for p in pages])
            if not self.collector.reuse("search:" + name, self.keys[name]):
                self.todo[name] = [search.Source(f"{p.slug}/", digest(self.ctx.base, repr(p)), functools.partial(_page_record, p))
                                   for p in pages]

    def _start(self) -> None:
        self.started = True
        for name, sources in self.todo.items():
            self.indexing.start(name, self.keys[name], sources)

    def page(self) -> Made:
        """The search page, which names every index, newest first (known from the plan: Pagefind may still run)."""
        collector = Collector(self.ctx)
        names = sorted((n for n in self.keys if n != search.PAGES_INDEX), reverse=True) + \
            [n for n in self.keys if n == search.PAGES_INDEX]
        key = digest(self.ctx.base, self.ctx.templates.of("suche.html"), names)
        collector.keep_or_put("search-page", key, lambda: [self.ctx.pages.search_page(names)])
        return Made(collector.groups)

    def finish(self) -> Made:
        """Wait for Pagefind; the index groups (files under pagefind/, none of them a page)."""
        if not self.started:
            self.pool.close()
            self._start()
        published = {rel: d for name, (_, files) in self.ctx.previous.items() if name.startswith("search:")
                     for rel, d in files.items()}
        for name, written in self.indexing.finish(published).items():
            self.collector.put_written("search:" + name, self.keys[name], written)
        search.prune_cache(self.indexing.cache, self.keys.values(), self.keys.keys())
        return Made(self.collector.groups)


# Up to this many documents to index, Pagefind starts before the pages render (about a second of one
# core for a year of releases); beyond, it waits for the worker processes.
EARLY_INDEXING = 1500


def _record(release: Release, bodies: BodyCache, config: Config) -> search.Record:
    local = release.published.astimezone(config.site.tz)
    return search.Record(f"{release.id}/", release.title, day(release.published, config.site.tz), bodies.html(release),
                         release.subtitle, release.tags, str(local.year))


def _page_record(page: SitePage) -> search.Record:
    return search.Record(f"{page.slug}/", page.title, "", render_html(page.body))


def site_page_groups(ctx: Context, site_pages: list[SitePage]) -> Made:
    """The pages from pages/ whose source changed."""
    collector, base, rendered = Collector(ctx), digest(ctx.base, ctx.templates.of("page.html")), 0
    for sitepage in site_pages:
        key = digest(base, repr(sitepage))
        if not collector.reuse("sitepage:" + sitepage.slug, key):
            collector.put("sitepage:" + sitepage.slug, key, [ctx.pages.site_page(sitepage, render_html(sitepage.body))])
            rendered += 1
    return Made(collector.groups, rendered, len(site_pages) - rendered)


def release_groups(ctx: Context, chosen: list[Release], made: photos.PhotoResult, last: Built | None,
                   pool: RenderPool) -> ReleasesMade:
    """The page and the e-mails of every release whose view or templates changed; every summary.

    Page and e-mails are separate groups: a page template edit renders the pages only. From the last
    build, a release whose page is reused keeps its summary, and one whose view inputs (fingerprint,
    variants, attachment sizes, ZIP, banner, templates, config) are all unchanged keeps its keys
    without its views being made and digested again.
    """
    config, collector = ctx.config, Collector(ctx)
    summaries, known = (last.summaries, last.views or {}) if last else ({}, {})
    zips = {f.relpath: f for f in made.files if f.relpath.endswith("/fotos.zip")}
    files: dict[str, dict[str, Path]] = defaultdict(dict)  # release id -> {relpath: variant file}, to attach
    if config.email.attach_photos:
        for f in made.files:
            if f.source is not None:
                files[f.relpath.partition("/")[0]][f.relpath] = f.source
    banner = _banner(ctx.now, config) if ctx.preview else (lambda release: "")
    page_templates = ctx.templates.of("release.html")
    mail_templates = ctx.templates.of("email-ots.txt" if config.email.layout == "ots" else "email.txt", "email.html")
    views: dict[str, ViewKeys] = {}
    kept: dict[str, str] = {}
    todo: list[ReleaseJob] = []
    for release in chosen:
        zip_file = zips.get(f"{release.id}/fotos.zip") if release.photos else None
        variants = {(release.id, p.file): made.variants.get((release.id, p.file), ()) for p in release.photos} \
            if release.photos else {}
        sizes = {a.file: a.path.stat().st_size for a in release.attachments} if release.attachments else {}
        inputs = (ctx.base, page_templates, mail_templates, release.fingerprint, variants, sizes,
                  zip_file.size() if zip_file else None, banner(release), files.get(release.id, {}))
        remembered = known.get(release.id)
        if remembered is None or remembered[0] != inputs:
            remembered = (inputs, _release_keys(inputs, release))
        keys = remembered[1]
        views[release.id] = remembered  # the object the state loaded: its shard compares equal at once
        page_kept = release.id in summaries and collector.reuse("page:" + release.id, keys[0])
        # a withdrawn release has no e-mails any more: no mail group, so its files leave output/
        mail_kept = release.withdrawn is not None or collector.reuse("mail:" + release.id, keys[1])
        if page_kept:
            kept[release.id] = summaries[release.id]
        if not (page_kept and mail_kept):
            page, mail = _release_views(inputs, release)
            todo.append(ReleaseJob(release.id, None if page_kept else page, None if mail_kept else mail))
    new: dict[str, str] = {}
    for n, rendered in enumerate(pool.releases(todo), 1):
        page_key, mail_key = views[rendered.id][1]
        if rendered.summary is not None:
            collector.put_written("page:" + rendered.id, page_key, rendered.page)
            new[rendered.id] = rendered.summary
        if rendered.mail:
            collector.put_written("mail:" + rendered.id, mail_key, rendered.mail)
        if ctx.progress:
            ctx.progress("Seiten", n, len(todo))
    return ReleasesMade(Made(collector.groups, len(todo), len(chosen) - len(todo)), kept | new, views)


def _release_views(inputs: tuple[Any, ...], release: Release) -> tuple[ReleaseView, MailView]:
    """The page's and the e-mails' views of a release from its view inputs (see `release_groups`)."""
    _, _, _, _, variants, sizes, zip_size, banner, attached = inputs
    return ReleaseView(release, variants, sizes, zip_size, banner), MailView(release, variants, attached, sizes)


def _release_keys(inputs: tuple[Any, ...], release: Release) -> tuple[str, str]:
    """The page's and the e-mails' group keys: the config and code, the templates, the view."""
    base, page_templates, mail_templates = inputs[:3]
    page, mail = _release_views(inputs, release)
    return digest(base, page_templates, page.digest), digest(base, mail_templates, mail.digest)


def event_groups(ctx: Context, releases: list[Release], summaries: dict[str, str],
                 history: events.History) -> tuple[Made, events.History]:
    """termine/, termine.ics and each event's termin.ics; and the history with this build's sequences."""
    config, collector = ctx.config, Collector(ctx)
    base = digest(ctx.base, ctx.templates.of("termine.html"))
    current = [events.entry_of(r, r.event, summaries[r.id], config) for r in releases if r.event]
    entries, kept = events.apply_history(current, history)
    public = {r.id for r in releases}
    shown = [e for e in entries if e.release_id in public]
    upcoming = [e for e in shown if (e.end or e.start) >= ctx.now]
    past = sorted((e for e in shown if (e.end or e.start) < ctx.now), key=lambda e: (e.start, e.uid), reverse=True)
    collector.keep_or_put("termine", digest(base, upcoming, past), lambda: [ctx.pages.termine(upcoming, past)])
    name = f"Termine: {config.site.organisation}"
    collector.keep_or_put("calendar", digest(base, entries),
                          lambda: [events.calendar_file(events.CALENDAR_PATH, entries, config, name)])
    for entry in shown:
        collector.keep_or_put("event:" + entry.release_id, digest(base, entry), functools.partial(_event_file, entry, config))
    return Made(collector.groups), kept


def _event_file(entry: events.Entry, config: Config) -> list[OutputFile]:
    return [events.calendar_file(f"{entry.release_id}/{events.EVENT_FILE}", [entry], config, entry.title)]


def fixed_groups(ctx: Context, chosen: list[Release], made: photos.PhotoResult) -> Made:
    """The photo variants, the copied files, robots.txt and the 404 page."""
    collector = Collector(ctx)
    collector.put("photos", "", list(made.files))
    collector.put("sources", "", [OutputFile(rel, source=src)
                                  for rel, src in sorted(copied_files(ctx.config, chosen).items())])
    news = any(ctx.now - NEWS_WINDOW <= r.published <= ctx.now for r in listed(chosen))
    collector.keep_or_put("robots", digest(ctx.base, news), lambda: [robots_txt(ctx.config, news)])
    collector.keep_or_put("404", digest(ctx.base, ctx.templates.of("404.html")), lambda: [ctx.pages.not_found()])
    return Made(collector.groups)


def sitemap_group(ctx: Context, chosen: list[Release], groups: Groups) -> Made:
    """sitemap.xml over every page the other groups made."""
    collector = Collector(ctx)
    urls = _sitemap_urls(ctx.config, chosen, groups)
    key = digest(ctx.base, ctx.templates.of("sitemap.xml"), urls)
    collector.keep_or_put("sitemap", key, lambda: [ctx.pages.sitemap(urls)])
    return Made(collector.groups)


def _feed_releases(config: Config, chosen: list[Release], now: datetime) -> list[Release]:
    """The releases some feed lists: the newest overall, the newest per tag, and the news window."""
    limit = config.feeds.items
    per_tag: dict[str, int] = defaultdict(int)
    listed: list[Release] = []
    for n, release in enumerate(chosen):
        wanted = n < limit or now - NEWS_WINDOW <= release.published <= now
        for slug in {slugify(t) for t in release.tags} if release.tags else ():
            per_tag[slug] += 1
            wanted = wanted or per_tag[slug] <= limit
        if wanted:
            listed.append(release)
    return listed


def feed_groups(ctx: Context, releases: list[Release], made: photos.PhotoResult) -> Made:
    """Each feed and the news sitemap: rendered again only when the entry of a release it lists changed."""
    config, now, variants, collector = ctx.config, ctx.now, made.variants, Collector(ctx)
    subset = _feed_releases(config, releases, now)
    limit = config.feeds.items
    parts: dict[str, list[Release]] = {"main": subset[:limit],
                                       "news": [r for r in subset if now - NEWS_WINDOW <= r.published <= now]}
    for release in subset:
        for slug in dict.fromkeys(slugify(t) for t in release.tags):
            parts.setdefault(f"tag:{slug}", [])
            if len(parts[f"tag:{slug}"]) < limit:
                parts[f"tag:{slug}"].append(release)
    entries = {r.id: FeedEntry(r, {(r.id, p.file): variants.get((r.id, p.file), ()) for p in r.photos},
                               {f.file: f.path.stat().st_size for f in r.attachments}
                               | {p.file: p.path.stat().st_size for p in r.photos}).digest
               for r in subset}
    todo: dict[str, str] = {}
    for part, members in parts.items():
        key = digest(ctx.base, part, [entries[r.id] for r in members])
        if not collector.reuse("feeds:" + part, key):
            todo[part] = key
    if todo:
        from . import feeds  # only now: feedgen and lxml take a fiftieth of a second to import

        needed = {r.id for part in todo for r in parts[part]}
        bodies = BodyCache(config.root / CACHE_DIR / "bodies")
        files = feeds.render_feeds([r for r in subset if r.id in needed], config, variants, bodies.html, now, parts=todo)
        by_part: dict[str, list[OutputFile]] = defaultdict(list)
        for f in files:
            by_part[feed_part(f.relpath)].append(f)
        for part, key in todo.items():
            collector.put("feeds:" + part, key, by_part[part])
    return Made(collector.groups)


def copied_files(config: Config, chosen: list[Release]) -> dict[str, Path]:
    """Files copied as they are: attachments, the theme's assets and the site's share picture."""
    found: dict[str, Path] = {}
    for folder in (theme_dir() / "assets", config.root / "templates" / "assets"):
        if folder.is_dir():
            found.update({f"assets/{p.name}": p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")})
    if config.site.image:
        found[f"assets/{Path(config.site.image).name}"] = config.root / config.site.image
    for release in chosen:
        if release.attachments:
            found.update({f"{release.id}/{a.file}": a.path for a in release.attachments})
    return found


def _sitemap_urls(config: Config, chosen: list[Release], groups: Groups) -> list[tuple[str, datetime | None]]:
    modified = {r.id: (r.modified or r.published) for r in chosen}
    withdrawn = {f"{r.id}/index.html" for r in chosen if r.withdrawn is not None}
    base_url = config.site.base_url
    pages = sorted(relpath.removesuffix("index.html") for _, files in groups.values() for relpath in files
                   if relpath.endswith("index.html") and relpath not in withdrawn)
    return [(base_url + path, modified.get(path.rstrip("/"))) for path in pages]


def _banner(now: datetime, config: Config) -> Callable[[Release], str]:
    """The preview banner of a release that is not public at now (preview only, never in a build)."""
    def banner(release: Release) -> str:
        if release.draft:
            return "ENTWURF – nicht veröffentlicht"
        if release.published > now:
            return "SPERRFRIST bis " + lift_time(release.published, config.site.tz)
        return ""
    return banner


