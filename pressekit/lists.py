"""The list step of a build: the index, every year and every topic, paginated (see `pages.list_pages`),
and the archive page. A list whose inputs are unchanged keeps its pages' keys from the last build."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .cache import digest
from .config import Config
from .feed_items import tag_feed_url
from .groups import Collector, Context, ListsMade, Made, ReleasesMade
from .model import Release
from .pages import ListPage, PageRenderer, Teaser, Variants, teaser_of
from .state import Built, ListKeys, TeaserKeys
from .text import slugify
from .views import known_digest
from .workers import RenderPool


LIST_TEMPLATES = ("index.html", "tag.html", "archive.html")


def list_groups(ctx: Context, releases: list[Release], variants: Variants, made: ReleasesMade,
                pool: RenderPool, last: Built | None) -> ListsMade:
    """Index, year and tag pages whose view or templates changed, and the archive.

    A teaser is made from its release's page view and the summary the page gave, so a release whose
    page key is the last build's has the teaser digest of the last build. The lists show nothing but
    the teasers in order, the config and their templates: when the digest of those (`ListsMade.key`)
    is the last build's, every list keeps its pages (an edit of a body). Otherwise a list (the index,
    a year, a topic) whose inputs (its teasers' digests, its title and settings, its template, the
    config) are those the last build remembered keeps the keys of its pages without their views being
    made and digested again; the others are paginated and keyed page by page.
    """
    config, collector = ctx.config, Collector(ctx)
    known, digested = (last.lists, last.teasers) if last else ({}, {})
    made_teasers: dict[str, Teaser] = {}
    teaser_keys: dict[str, TeaserKeys] = {}
    for r in releases:
        page_key = made.views[r.id][1][0]
        was = digested.get(r.id)
        if was is None or was[0] != page_key:
            teaser = made_teasers[r.id] = teaser_of(r, made.summaries[r.id], variants, config)
            was = (page_key, teaser.digest)
        teaser_keys[r.id] = was
    shown = digest(ctx.base, [ctx.templates.of(name) for name in LIST_TEMPLATES],
                   [(r.id, teaser_keys[r.id][1]) for r in releases])
    if last is not None and shown == last.lists_key and _keep_all(collector, last):
        return ListsMade(Made(collector.groups, 0, sum(len(keys) for _, keys in known.values())),
                         known, teaser_keys, shown)
    teasers: list[Teaser] = []
    for r in releases:
        if r.id not in made_teasers:
            made_teasers[r.id] = teaser_of(r, made.summaries[r.id], variants, config)
            known_digest(made_teasers[r.id], teaser_keys[r.id][1])
        teasers.append(made_teasers[r.id])
    collector = Collector(ctx)  # none of what _keep_all may have kept
    todo: dict[str, tuple[str, ListPage]] = {}
    lists: dict[str, ListKeys] = {}
    pages = 0
    found = list_sources(config, teasers)
    for source in found.sources:
        inputs = digest(ctx.base, ctx.templates.of(source.template), source.base, source.title, source.template,
                        sorted(source.extra.items()), [t.digest for t in source.items])
        remembered = known.get(source.base)
        if remembered is not None and remembered[0] == inputs and \
                all([collector.reuse("list:" + relpath, key) for relpath, key in remembered[1]]):
            lists[source.base] = remembered
            pages += len(remembered[1])
            continue
        keys = []
        for spec in ctx.pages.list_pages(source.items, source.base, source.title, source.template, **source.extra):
            key = digest(ctx.base, ctx.templates.of(spec.template), spec.digest)
            keys.append((spec.relpath, key))
            if not collector.reuse("list:" + spec.relpath, key):
                todo[spec.relpath] = (key, spec)
        lists[source.base] = (inputs, tuple(keys))
        pages += len(keys)
    for relpath, written in pool.list_pages([spec for _, spec in todo.values()]):
        collector.put_written("list:" + relpath, todo[relpath][0], {relpath: written})
    key = digest(ctx.base, ctx.templates.of("archive.html"), found.counts, found.tags)
    collector.keep_or_put("archive", key, lambda: [ctx.pages.archive(found.counts, list(found.tags))])
    return ListsMade(Made(collector.groups, len(todo), pages - len(todo)), lists, teaser_keys, shown)


def _keep_all(collector: Collector, last: Built) -> bool:
    """Keep every list page and the archive of the last build; False when one of them is not known."""
    archive = collector.previous.get("archive")
    return archive is not None and collector.reuse("archive", archive[0]) and \
        all([collector.reuse("list:" + relpath, key) for _, keys in last.lists.values() for relpath, key in keys])


@dataclass(frozen=True)
class ListSource:
    """One paginated list before pagination: the index, a year or a topic."""

    base: str                 # where its pages go: "", "2025/", "themen/verkehr/"
    title: str
    template: str
    items: list[Teaser]       # newest first
    extra: dict[str, object]  # what its template sees besides the items


@dataclass(frozen=True)
class ListSources:
    """Every list, and what the archive page shows of them."""

    sources: list[ListSource]         # the index, every year (newest first), every topic
    counts: list[tuple[int, int]]     # (year, releases) newest first
    tags: tuple[tuple[str, str], ...]  # (name, slug) of every topic, by name


def list_sources(config: Config, teasers: list[Teaser]) -> ListSources:
    """The index, every year and every topic with their teasers (a topic is named as its newest release
    spells it)."""
    by_year: dict[int, list[Teaser]] = defaultdict(list)
    by_tag: dict[str, list[Teaser]] = defaultdict(list)
    names: dict[str, str] = {}
    tz = config.site.tz
    for t in teasers:
        by_year[t.release.published.astimezone(tz).year].append(t)
        for tag in t.release.tags:
            slug = slugify(tag)
            by_tag[slug].append(t)
            names.setdefault(slug, tag)
    years = tuple(sorted(by_year, reverse=True))
    tags = tuple(sorted(((names[s], s) for s in by_tag), key=lambda x: x[0].casefold()))
    sources = [ListSource("", config.site.title, "index.html", teasers, {"kind": "index", "years": years, "tags": tags})]
    sources += [ListSource(f"{year}/", f"Pressemitteilungen {year}", "index.html", by_year[year],
                           {"kind": "year", "years": years, "tags": tags}) for year in years]
    sources += [ListSource(f"themen/{slug}/", f"Thema: {names[slug]}", "tag.html", by_tag[slug],
                           {"kind": "tag", "tag": names[slug], "tag_feed": tag_feed_url(config, names[slug]),
                            "years": years, "tags": tags}) for slug in sorted(by_tag)]
    return ListSources(sources, [(year, len(by_year[year])) for year in years], tags)


def list_specs(pages: PageRenderer, config: Config, teasers: list[Teaser]) -> list[ListPage]:
    """Every page of every list (see `list_sources`)."""
    return [spec for source in list_sources(config, teasers).sources
            for spec in pages.list_pages(source.items, source.base, source.title, source.template, **source.extra)]
