"""Feeds for journalists: RSS 2.0, Atom, JSON Feed 1.1, one RSS feed per tag, and the Google News sitemap.

The only module importing feedgen. Every feed is built from the same `FeedItem` values, so the formats agree:

- link and GUID/id: the release's permanent URL; title; summary (`markup.summary_of`);
- content: the subtitle (as a bold first paragraph), the body with absolute URLs, then every photo as a
  `<figure>` whose caption ends with "Foto: <credit>" -- so a reader that ignores Media RSS still shows
  each photo with its credit;
- published: `Release.published` (the later of date and embargo); updated: the last correction
  (`Release.modified`) or, without one, the publication time; both in the site's time zone;
- corrections: a "Korrektur vom ..." paragraph each, newest first, before the text;
- a withdrawn release keeps its item and GUID, titled "ZURÜCKGEZOGEN: ...", with the reason as its text
  and no photos, updated at the withdrawal; it leaves the news sitemap;
- photos: the "web" variant, else the widest variant with the credit burnt in, else the narrowest
  (the rule the release page uses); without made variants the original file is linked.

Stable bytes: no clock and no library version is written; a feed's lastBuildDate/updated is the newest
`updated` of its items (the Unix epoch when it has none); items are sorted newest first (published, id)
and appended in that order (feedgen prepends by default).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension  # type: ignore[import-untyped]
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]
from feedgen.util import xml_elem  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]

from .config import Config
from .dates import NEWS_WINDOW
from .feed_items import (  # feed_links, feed_part and tag_feed_url: this module's API too
    ATOM_PATH, JSON_PATH, NEWS_SITEMAP_PATH, RSS_PATH, FeedAttachment, FeedItem, FeedPhoto, Variants, author_of,
    content_html, feed_item, feed_links, feed_part, last_update, mime_type, tag_feed_url, tag_page_url,
)
from .markup import summary_of
from .model import Release, age_order
from .output import OutputFile
from .text import slugify

GENERATOR = "pressekit"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NEWS_LIMIT = 1000                 # ... and at most 1,000 URLs per news sitemap
# A tag (<b, </, <!) or an entity (&amp;, &#169;): text a reader would take for markup.
_MARKUP_LIKE = re.compile(r"<[A-Za-z/!?]|&#?\w+;")

# --- public API ---------------------------------------------------------------------------------


def render_feeds(releases: Sequence[Release], config: Config, variants: Variants,
                 body_html: Callable[[Release], str], now: datetime,
                 parts: Collection[str] | None = None) -> list[OutputFile]:
    """Return feed.xml, atom.xml, feed.json, themen/<tag>/feed.xml per tag and news-sitemap.xml.

    Only releases public at `now` are taken, whatever the caller passes: a feed pushes to subscribers,
    and an embargo broken there cannot be taken back. `parts` limits the work to some feeds
    ("main", "news", "tag:<slug>"; see `feed_part`) when the others are known to be unchanged.
    """
    public = [r for r in releases if r.is_public(now)]
    ordered = sorted(public, key=age_order, reverse=True)
    items = [feed_item(r, config, variants, body_html(r)) for r in ordered]
    newest = items[: config.feeds.items]
    base = config.site.base_url
    files = []
    if parts is None or "main" in parts:
        files += [
            OutputFile(RSS_PATH, _rss(newest, config, config.site.title, base, base + RSS_PATH)),
            OutputFile(ATOM_PATH, _atom(newest, config)),
            OutputFile(JSON_PATH, _json_feed(newest, config)),
        ]
    files.extend(f for f in _tag_feeds(items, config, parts) if parts is None or feed_part(f.relpath) in parts)
    if (parts is None or "news" in parts) and (news := _news_sitemap(items, config, now)):
        files.append(OutputFile(NEWS_SITEMAP_PATH, news))
    return files


# --- RSS 2.0 and Atom via feedgen ----------------------------------------------------------------


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed level: the media namespace and, in RSS, the WebSub hub as atom:link rel="hub"."""

    def __init__(self) -> None:
        self.hub = ""

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS}

    def extend_rss(self, rss: Any) -> Any:
        if self.hub:
            self_link = rss.find(f"channel/{{{ATOM_NS}}}link[@rel='self']")
            self_link.addnext(etree.Element(f"{{{ATOM_NS}}}link", href=self.hub, rel="hub"))
        return rss


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Item level: one media:group per photo (feedgen's media extension writes only media:content)."""

    def __init__(self) -> None:
        self.photos: tuple[FeedPhoto, ...] = ()
        self.attachments: tuple[FeedAttachment, ...] = ()
        self.updated: datetime | None = None

    def extend_atom(self, entry: Any) -> Any:
        # feedgen drops rel, type and length of an entry's links, so the enclosures are written here
        # (unqualified, like feedgen's own elements under the feed's default Atom namespace)
        for photo in self.photos:
            xml_elem("link", entry, attrib={"href": photo.web.url, "rel": "enclosure", "type": photo.web.mime_type,
                                            "length": str(photo.web.size), "title": photo.credit_line})
        for a in self.attachments:
            xml_elem("link", entry, attrib={"href": a.url, "rel": "enclosure", "type": a.mime_type,
                                            "length": str(a.size), "title": a.title})
        for photo in self.photos:
            _media_group(entry, photo)
        return entry

    def extend_rss(self, item: Any) -> Any:
        if self.updated:  # RSS has no item update date; atom:updated is what readers (and feedparser) know
            xml_elem(f"{{{ATOM_NS}}}updated", item).text = self.updated.isoformat()
        for photo in self.photos:
            _media_group(item, photo)
        return item


def _media_group(parent: Any, photo: FeedPhoto) -> None:
    """media:group: every file as media:content (the web one isDefault), then title, caption, credit, rights."""
    group = xml_elem(f"{{{MEDIA_NS}}}group", parent)
    for f in photo.files:
        attrs = {"url": f.url, "type": f.mime_type, "medium": "image", "fileSize": str(f.size)}
        if f.width and f.height:
            attrs.update(width=str(f.width), height=str(f.height))
        if f is photo.web:
            attrs["isDefault"] = "true"
        xml_elem(f"{{{MEDIA_NS}}}content", group, attrib=attrs)
    xml_elem(f"{{{MEDIA_NS}}}title", group, type="plain").text = photo.photo.alt
    xml_elem(f"{{{MEDIA_NS}}}description", group, type="plain").text = photo.photo.labelled_caption
    xml_elem(f"{{{MEDIA_NS}}}credit", group, role="photographer", scheme="urn:ebu").text = photo.photo.credit
    # no url attribute on media:copyright: feedparser then drops the text
    xml_elem(f"{{{MEDIA_NS}}}copyright", group).text = photo.copyright
    license_ = xml_elem(f"{{{MEDIA_NS}}}license", group)
    if photo.usage.url:
        license_.attrib.update({"type": "text/html", "href": photo.usage.url})
    license_.text = photo.usage.usage_terms


def _generator(config: Config, self_url: str, alternate: str, self_type: str) -> FeedGenerator:
    """A FeedGenerator with what every feed shares; the alternate link goes last (feedgen's RSS link)."""
    fg = FeedGenerator()
    fg.register_extension("pressekit", _FeedExtension, _EntryExtension)
    fg.link(href=self_url, rel="self", type=self_type)
    if config.feeds.websub_hub:
        fg.link(href=config.feeds.websub_hub, rel="hub")
        fg.pressekit.hub = config.feeds.websub_hub
    fg.link(href=alternate, rel="alternate", type="text/html")
    fg.language(config.site.language)
    fg.generator(GENERATOR)
    return fg


def _rss_title(title: str) -> str:
    """An RSS title: plain text, as the RSS Board advises; HTML-escaped only when it looks like markup.

    RSS does not say whether a title is text or HTML and readers guess (feedparser: HTML when it holds a
    tag or an entity). "Kunst & Kultur" stays as it is for every reader; "<Name>" or "&amp;" would be
    taken for markup, so they are escaped once more and every HTML-guessing reader shows them literally.
    """
    return html.escape(title, quote=False) if _MARKUP_LIKE.search(title) else title


def _rss(items: Sequence[FeedItem], config: Config, title: str, link: str, self_url: str) -> bytes:
    """An RSS 2.0 channel with content:encoded, one enclosure per item and Media RSS."""
    fg = _generator(config, self_url, link, "application/rss+xml")
    fg.title(_rss_title(title))
    fg.description(config.site.description or title)
    fg.lastBuildDate(last_update(items, config))
    for item in items:
        entry = fg.add_entry(order="append")
        entry.title(_rss_title(item.release.title))
        entry.link(href=item.url)
        entry.guid(item.url, permalink=True)
        entry.description(html.escape(item.summary, quote=False))  # an RSS description is HTML
        entry.content(item.content_html)  # escaped, never CDATA: "]]>" in a text would end the section
        entry.published(item.published)
        if author := author_of(item.author):
            entry.author(author)  # RSS writes it only with an e-mail address
        for tag in item.release.tags:
            entry.category(term=tag, scheme=tag_page_url(config, tag))
        # RSS allows one enclosure: the first photo, else the first attachment (Atom and JSON list them all)
        if first := (item.photos[0].web if item.photos else item.attachments[0] if item.attachments else None):
            entry.enclosure(first.url, str(first.size), first.mime_type)
        entry.pressekit.photos, entry.pressekit.updated = item.photos, item.updated
    return bytes(fg.rss_str(pretty=True))


def _atom(items: Sequence[FeedItem], config: Config) -> bytes:
    """The Atom feed: text title and summary, HTML content, link rel="enclosure" per photo, Media RSS."""
    base = config.site.base_url
    fg = _generator(config, base + ATOM_PATH, base, "application/atom+xml")
    fg.id(base + ATOM_PATH)
    fg.title(config.site.title)
    if config.site.description:
        fg.subtitle(config.site.description)
    fg.author(name=config.site.organisation, uri=base)
    fg.updated(last_update(items, config))
    for item in items:
        entry = fg.add_entry(order="append")
        entry.id(item.url)
        entry.title(item.release.title)
        entry.link(href=item.url)  # rel="alternate"; the enclosures come from _EntryExtension
        if item.summary:
            entry.summary(item.summary)
        entry.content(item.content_html, type="html")
        entry.published(item.published)
        entry.updated(item.updated)
        if author := author_of(item.author):
            entry.author(author)
        for tag in item.release.tags:
            entry.category(term=tag, scheme=tag_page_url(config, tag))
        entry.pressekit.photos, entry.pressekit.attachments = item.photos, item.attachments
    return bytes(fg.atom_str(pretty=True))


def _tag_feeds(items: Sequence[FeedItem], config: Config, parts: Collection[str] | None = None) -> list[OutputFile]:
    """themen/<slug>/feed.xml for every tag; a tag's name is its spelling in the newest release."""
    names: dict[str, str] = {}
    tagged: dict[str, list[FeedItem]] = {}
    for item in items:
        for tag in item.release.tags:
            names.setdefault(slugify(tag), tag)
            tagged.setdefault(slugify(tag), []).append(item)
    files = []
    for slug in sorted(tagged):
        if parts is not None and f"tag:{slug}" not in parts:
            continue
        tag = names[slug]
        title = f"{config.site.title}: {tag}"
        data = _rss(tagged[slug][: config.feeds.items], config, title, tag_page_url(config, tag),
                    tag_feed_url(config, tag))
        files.append(OutputFile(f"themen/{slug}/{RSS_PATH}", data))
    return files


# --- JSON Feed 1.1 ------------------------------------------------------------------------------


def _json_feed(items: Sequence[FeedItem], config: Config) -> bytes:
    """JSON Feed 1.1 with attachments for every photo variant and a `_pressekit` object per item."""
    site = config.site
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": site.title,
        "home_page_url": site.base_url,
        "feed_url": site.base_url + JSON_PATH,
    }
    if site.description:
        feed["description"] = site.description
    feed["language"] = site.language
    if config.site_image_url:
        feed["icon"] = config.site_image_url
    feed["favicon"] = site.base_url + "assets/favicon.svg"
    feed["authors"] = [{"name": site.organisation, "url": site.base_url}]
    if config.feeds.websub_hub:
        feed["hubs"] = [{"type": "WebSub", "url": config.feeds.websub_hub}]
    feed["items"] = [_json_item(item) for item in items]
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json_item(item: FeedItem) -> dict[str, Any]:
    release = item.release
    data: dict[str, Any] = {"id": item.url, "url": item.url, "title": release.title}
    if item.summary:
        data["summary"] = item.summary
    data["content_html"] = item.content_html
    data["date_published"] = item.published.isoformat()
    data["date_modified"] = item.updated.isoformat()
    if author := author_of(item.author):
        data["authors"] = [{"name": author["name"], **({"url": f"mailto:{author['email']}"} if "email" in author else {})}]
    if release.tags:
        data["tags"] = list(release.tags)
    if item.photos:
        data["image"] = item.photos[0].web.url
    files = [{"url": f.url, "mime_type": f.mime_type, "title": p.credit_line, "size_in_bytes": f.size}
             for p in item.photos for f in p.files]
    files += [{"url": a.url, "mime_type": a.mime_type, "title": a.title, "size_in_bytes": a.size}
              for a in item.attachments]
    if files:
        data["attachments"] = files
    extension: dict[str, Any] = {"subtitle": release.subtitle} if release.subtitle else {}
    extension["photos"] = [_json_photo(p) for p in item.photos]
    data["_pressekit"] = extension
    return data


def _json_photo(photo: FeedPhoto) -> dict[str, Any]:
    usage = photo.usage
    return {
        "caption": photo.photo.labelled_caption,
        "credit": photo.photo.credit,
        "alt": photo.photo.alt,
        "rights": {"label": usage.usage_terms, "copyright": usage.copyright, "url": usage.url},
        "variants": [
            {"name": f.name, "url": f.url, "mime_type": f.mime_type, "size_in_bytes": f.size,
             **({"width": f.width, "height": f.height} if f.width else {})}
            for f in photo.files
        ],
    }


# --- Google News sitemap ------------------------------------------------------------------------


def _news_sitemap(items: Sequence[FeedItem], config: Config, now: datetime) -> bytes | None:
    """news-sitemap.xml: the releases published in the two days up to `now`, newest first.

    None when there are none: the schema requires at least one <url>, so the file is left out.
    """
    recent = [i for i in items if now - NEWS_WINDOW <= i.published <= now
              and i.release.withdrawn is None][:NEWS_LIMIT]
    if not recent:
        return None
    urlset = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "news": NEWS_NS})
    language = config.site.language.split("-")[0].lower()  # Google wants the ISO 639 code: "de"
    for item in recent:
        url = etree.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = item.url
        news = etree.SubElement(url, f"{{{NEWS_NS}}}news")
        publication = etree.SubElement(news, f"{{{NEWS_NS}}}publication")
        etree.SubElement(publication, f"{{{NEWS_NS}}}name").text = config.site.organisation
        etree.SubElement(publication, f"{{{NEWS_NS}}}language").text = language
        etree.SubElement(news, f"{{{NEWS_NS}}}publication_date").text = item.published.isoformat()
        etree.SubElement(news, f"{{{NEWS_NS}}}title").text = item.release.title
    return bytes(etree.tostring(urlset, xml_declaration=True, encoding="UTF-8", pretty_print=True))
