"""HTML pages of the newsroom: index, year archives, tag pages, release pages, 404 and sitemap."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlparse

from jinja2 import Environment

from .config import Config
from .dates import day_span
from .errors import display_path
from .events import Entry, event_json_ld
from .markup import summary_of
from .model import Attachment, Contact, Photo, PhotoRights, Release, Rights, Variant
from .output import OutputFile
from .sitepages import SitePage
from .templates import reporting_template_errors
from .text import slugify
from .views import ReleaseView, View

Variants = Mapping[tuple[str, str], tuple[Variant, ...]]
FeedLinks = Sequence[tuple[str, str, str]]


@dataclass(frozen=True)
class PhotoView:
    """A photo as a page shows it: the source entry, its rights and its variants."""

    photo: Photo
    rights: Rights
    usage: PhotoRights
    variants: tuple[Variant, ...]
    src: str          # URL of the variant shown in the page, relative to the release page
    width: int | None
    height: int | None
    srcset: str

    @property
    def shown(self) -> Variant | None:
        return next((v for v in self.variants if v.relpath.endswith(self.src.rsplit("/", 1)[-1])), None)


@dataclass(frozen=True)
class AttachmentView:
    attachment: Attachment
    size: int


@dataclass(frozen=True)
class Teaser(View):
    """A release in a list: title, date, summary and a thumbnail; its release has no body (a list never shows it)."""

    release: Release  # Release.without_body
    url: str          # relative to the site root, e.g. "2025-07-02-x/"
    summary: str
    thumb: Variant | None
    thumb_alt: str


@dataclass(frozen=True)
class ListPage(View):
    """One page of a paginated list: what its template sees, and, digested, its cache key."""

    relpath: str
    template: str
    title: str
    heading: str
    items: tuple[Teaser, ...]
    pager: tuple[tuple[str, object], ...]
    extra: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class PageInfo:
    """What every page's <head> and frame need."""

    url: str          # canonical absolute URL
    root: str         # relative prefix from this page to the site root ("", "../", "../../")
    title: str
    description: str
    feeds: FeedLinks
    banner: str = ""  # preview-only banner (ENTWURF, SPERRFRIST ...); never set by `build`
    og_image: Variant | None = None
    og_image_alt: str = ""
    kind: str = "page"


def _span(items: Sequence[Teaser], tz: tzinfo) -> str:
    """The dates an archive page covers, oldest to newest: '03.01.2019 – 28.02.2019'."""
    return day_span(items[0].release.published, items[-1].release.published, tz)


def root_prefix(relpath: str) -> str:
    """Relative prefix from the page at output/<relpath> back to the site root."""
    return "../" * relpath.count("/")


def photo_views(release: Release, config: Config, variants: Variants) -> list[PhotoView]:
    """The photos of a release with their variants; without variants, the original file is shown."""
    views = []
    for photo in release.photos:
        made = variants.get((release.id, photo.file), ())
        files = config.roles.pick(made)
        if files is None:
            views.append(PhotoView(photo, photo.rights, photo.usage, made, photo.file, None, None, ""))
            continue
        shown = files.web
        prefix = f"{release.id}/"
        burn = [v for v in made if v.name in config.burnt_variants] or list(made)
        srcset = ", ".join(f"{v.relpath.removeprefix(prefix)} {v.width}w" for v in burn)
        views.append(PhotoView(photo, photo.rights, photo.usage, made, shown.relpath.removeprefix(prefix),
                               shown.width, shown.height, srcset))
    return views


def teaser_of(release: Release, summary: str, variants: Variants, config: Config) -> Teaser:
    """A release as a list entry."""
    if not release.photos:
        return Teaser(release.without_body, f"{release.id}/", summary, None, "")
    files = config.roles.pick(variants.get((release.id, release.photos[0].file), ()))
    return Teaser(release.without_body, f"{release.id}/", summary, files.thumb if files else None,
                  release.photos[0].alt)


def json_ld(release: Release, config: Config, summary: str, views: list[PhotoView]) -> str:
    """schema.org NewsArticle with ImageObjects (Google's licensable-image fields), safe inside <script>."""
    url = config.release_url(release.id)
    contact = release.contact
    images = []
    for view in views:
        image_url = url + view.src
        usage = view.usage
        creator = ({"@type": "Person", "name": usage.photographer} if usage.photographer
                   else {"@type": "Organization", "name": usage.credit})
        images.append({
            "@type": "ImageObject", "contentUrl": image_url, "url": image_url, "caption": view.photo.labelled_caption,
            "creditText": usage.credit, "creator": creator, "copyrightNotice": usage.copyright,
            **({"license": usage.url, "acquireLicensePage": usage.url} if usage.url else {}),
            **({"width": view.width, "height": view.height} if view.width else {}),
        })
    data: dict[str, object] = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": release.title,
        "description": summary, "url": url, "mainEntityOfPage": url,
        "datePublished": release.published.astimezone(config.site.tz).isoformat(),
        "dateModified": (release.modified or release.published).astimezone(config.site.tz).isoformat(),
        **({"correction": [{"@type": "CorrectionComment", "text": c.text,
                            "datePublished": c.date.astimezone(config.site.tz).isoformat()}
                           for c in release.corrections]} if release.corrections else {}),
        "inLanguage": config.site.language, "keywords": list(release.tags),
        "publisher": {"@type": "GovernmentOrganization", "name": config.site.organisation, "url": config.site.base_url},
        "author": _author(config, contact),
    }
    if pictures := images or _site_image(config):
        data["image"] = pictures  # an empty list would tell a sharer there is no picture
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _author(config: Config, contact: Contact | None) -> dict[str, object]:
    """The release's contact as a Person working for the press office, else the office itself, with its URL."""
    office: dict[str, object] = {"@type": "GovernmentOrganization",
              "name": f"{contact.label}, {config.site.organisation}" if contact and contact.label else config.site.organisation,
              "url": config.site.base_url}
    if contact and contact.name:
        return {"@type": "Person", "name": contact.name, "worksFor": office}
    return office


def _site_image(config: Config) -> list[dict[str, object]]:
    """`[site] image` as the picture of a release without photos."""
    url = config.site_image_url
    return [{"@type": "ImageObject", "contentUrl": url, "url": url}] if url else []


def robots_txt(config: Config, news: bool) -> OutputFile:
    """robots.txt: everything may be crawled; names the sitemaps (the news sitemap only while it exists)."""
    lines = ["User-agent: *", "Allow: /", "", f"Sitemap: {config.site.base_url}sitemap.xml"]
    if news:
        lines.append(f"Sitemap: {config.site.base_url}news-sitemap.xml")
    return OutputFile("robots.txt", data=("\n".join(lines) + "\n").encode("utf-8"))


class PageRenderer:
    """Renders the site's pages with one Jinja environment and the site's feed links."""

    def __init__(self, env: Environment, config: Config, feeds: FeedLinks):
        self.env, self.config, self.feeds = env, config, feeds

    def page(self, relpath: str, title: str, description: str = "", **extra: object) -> PageInfo:
        url = self.config.site.base_url + relpath.removesuffix("index.html")
        return PageInfo(url=url, root=root_prefix(relpath), title=title, description=description,
                        feeds=self.feeds, **extra)  # type: ignore[arg-type]

    def render(self, template: str, relpath: str, **context: object) -> OutputFile:
        """Render `template` into output/<relpath>; an error in a template is BuildFailed naming the page."""
        return self.render_for(relpath, template, relpath, context)

    def render_for(self, rendering: str, template: str, relpath: str, context: Mapping[str, object]) -> OutputFile:
        """Render `template` into output/<relpath>; an error in a template is BuildFailed naming `rendering`."""
        with reporting_template_errors(self.config.root, rendering):
            html = self.env.get_template(template).render(context)
        return OutputFile(relpath, data=html.encode("utf-8"))

    def release_page(self, release: Release, body_html: str, variants: Variants,
                     attachment_sizes: Mapping[str, int], zip_size: int | None) -> OutputFile:
        """output/<id>/index.html of a release without a banner."""
        return self.render_release(ReleaseView(release, variants, attachment_sizes, zip_size, ""), body_html)

    def render_release(self, view: ReleaseView, body_html: str) -> OutputFile:
        """output/<id>/index.html from its view and the body HTML (a function of `view.release.body`)."""
        release = view.release
        relpath = f"{release.id}/index.html"
        views = photo_views(release, self.config, view.variants)
        summary = summary_of(release.summary, body_html)
        first = views[0] if views else None
        info = self.page(relpath, release.title, summary, banner=view.banner, kind="article",
                         og_image=first.shown if first else None, og_image_alt=first.photo.alt if first else "")
        contact: Contact | None = release.contact
        attachments = [AttachmentView(a, view.attachment_sizes.get(a.file, 0)) for a in release.attachments]
        return self.render_for(display_path(release.source, self.config.root), "release.html", relpath, dict(
            page=info, release=release, body=body_html, summary=summary, photos=views, attachments=attachments,
            contact=contact, zip_size=view.zip_size, json_ld=json_ld(release, self.config, summary, views),
            event_ld=event_json_ld(release, release.event, self.config) if release.event else "",
            tag_url=lambda tag: f"themen/{slugify(tag)}/"))

    def tombstone(self, release: Release, banner: str = "") -> OutputFile:
        """output/<id>/index.html of a withdrawn release: title, date, when and why; not indexed."""
        assert release.withdrawn is not None
        relpath = f"{release.id}/index.html"
        info = self.page(relpath, f"Zurückgezogen: {release.title}", release.withdrawn.reason, banner=banner)
        return self.render("withdrawn.html", relpath, page=info, release=release, withdrawal=release.withdrawn)

    def site_page(self, sitepage: SitePage, body_html: str) -> OutputFile:
        """output/<slug>/index.html of a page from pages/."""
        relpath = f"{sitepage.slug}/index.html"
        info = self.page(relpath, sitepage.title, sitepage.description or summary_of("", body_html))
        return self.render("page.html", relpath, page=info, sitepage=sitepage, body=body_html)

    def search_page(self, indexes: Sequence[str]) -> OutputFile:
        """suche/index.html: the search form over the Pagefind indexes (newest year first)."""
        relpath = "suche/index.html"
        info = self.page(relpath, "Suche", f"Pressemitteilungen durchsuchen: {self.config.site.organisation}")
        return self.render("suche.html", relpath, page=info, indexes=indexes)

    def termine(self, upcoming: Sequence[Entry], past: Sequence[Entry]) -> OutputFile:
        """termine/index.html: the press dates to come, soonest first, then the past ones, latest first."""
        relpath = "termine/index.html"
        info = self.page(relpath, "Termine", f"Pressetermine: {self.config.site.organisation}")
        return self.render("termine.html", relpath, page=info, upcoming=upcoming, past=past)

    def list_pages(self, teasers: Sequence[Teaser], base: str, title: str, template: str = "index.html",
                   **extra: object) -> Iterator[ListPage]:
        """A paginated list (specs, rendered later) whose archive pages never change once full.

        Releases are cut into pages of per_page counted from the oldest, so a new release
        changes the first page only: base + index.html shows the newest two (partly filled)
        pages' worth, base + seite/N/index.html the older ones, N = 1 the oldest. That keeps
        rebuilds and deploys of a large archive small, and old page URLs stable.
        """
        per_page = self.config.site.per_page
        oldest_first = list(reversed(teasers))
        chunks = [oldest_first[i:i + per_page] for i in range(0, len(oldest_first), per_page)] or [[]]
        archive = chunks[:-2] if len(chunks) > 2 else []
        front = [t for chunk in chunks[len(archive):] for t in chunk]
        pages: list[tuple[str, list[Teaser], int | None]] = [(base + "index.html", front, None)]
        pages += [(base + f"seite/{n}/index.html", chunk, n) for n, chunk in enumerate(archive, 1)]
        for relpath, items, number in pages:
            prefix = root_prefix(relpath)

            def link(n: int | None) -> str:
                target = base + (f"seite/{n}/" if n else "")
                return prefix + target if target else prefix or "./"
            older = (number - 1 if number else len(archive)) or None
            newer = None if number is None else (number + 1 if number < len(archive) else 0)
            pager = {"older": link(older) if older else None, "newer": None if newer is None else link(newer),
                     "span": _span(items, self.config.site.tz) if number else ""}
            shown_title = f"{title} – {pager['span']}" if number else title
            yield ListPage(relpath, template, shown_title, title, tuple(reversed(items)),
                           tuple(sorted(pager.items())), tuple(sorted(extra.items())))

    def render_list(self, spec: ListPage) -> OutputFile:
        """Render one list page."""
        return self.render(spec.template, spec.relpath,
                           page=self.page(spec.relpath, spec.title, self.config.site.description),
                           items=spec.items, pager=dict(spec.pager), heading=spec.heading,
                           tag_url=lambda tag: f"themen/{slugify(tag)}/", **dict(spec.extra))

    def archive(self, years: Sequence[tuple[int, int]], tags: Sequence[tuple[str, str]]) -> OutputFile:
        """archiv/index.html: every year with its number of releases, and every tag."""
        relpath = "archiv/index.html"
        return self.render("archive.html", relpath, page=self.page(relpath, "Archiv"), years=years, tags=tags)

    def not_found(self) -> OutputFile:
        """404.html: served at any depth, so its links start at the site's absolute path."""
        info = self.page("404.html", "Seite nicht gefunden")
        info = PageInfo(**{**info.__dict__, "root": urlparse(self.config.site.base_url).path or "/"})
        return self.render("404.html", "404.html", page=info)

    def sitemap(self, urls: Sequence[tuple[str, datetime | None]]) -> OutputFile:
        return self.render("sitemap.xml", "sitemap.xml", urls=urls)
