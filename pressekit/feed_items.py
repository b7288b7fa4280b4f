"""The items of every feed: each release once as title, content, photos with their rights, attachments.

RSS, Atom, JSON Feed and the news sitemap (`feeds`) are written from these values. The feeds' paths and
URLs are here too: pages link them, and a build that writes no feed does not import feedgen.
"""

from __future__ import annotations

import html
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone, tzinfo
from pathlib import PurePosixPath
from urllib.parse import quote

from .config import Config
from .dates import lift_time
from .markup import absolutize, summary_of
from .model import Contact, Photo, PhotoRights, Release, Rights, Variant
from .text import slugify

MIME_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
              ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff"}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
RSS_PATH, ATOM_PATH, JSON_PATH, NEWS_SITEMAP_PATH = "feed.xml", "atom.xml", "feed.json", "news-sitemap.xml"

Variants = Mapping[tuple[str, str], tuple[Variant, ...]]


@dataclass(frozen=True)
class FeedFile:
    """One image file as the feeds link it: a made variant, or the original."""

    name: str                # variant name, or "original"
    url: str
    mime_type: str
    size: int
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class FeedPhoto:
    photo: Photo
    rights: Rights
    usage: PhotoRights
    files: tuple[FeedFile, ...]
    web: FeedFile               # the file shown in readers and sent as the RSS enclosure

    @property
    def copyright(self) -> str:
        return self.usage.copyright

    @property
    def credit_line(self) -> str:
        return f"{self.photo.labelled_caption} Foto: {self.photo.credit}"


@dataclass(frozen=True)
class FeedAttachment:
    """A download of a release (a PDF ...), as an enclosure."""

    title: str
    url: str
    mime_type: str
    size: int


@dataclass(frozen=True)
class FeedItem:
    """A release as every feed shows it."""

    release: Release
    url: str
    summary: str
    content_html: str
    published: datetime      # in the site's time zone
    updated: datetime        # in the site's time zone; never before `published`
    author: Contact | None
    photos: tuple[FeedPhoto, ...]
    attachments: tuple[FeedAttachment, ...] = ()


# --- items --------------------------------------------------------------------------------------


def feed_part(relpath: str) -> str:
    """Which part of render_feeds writes relpath: "main", "news" or "tag:<slug>"."""
    if relpath.startswith("themen/"):
        return "tag:" + relpath.split("/")[1]
    return "news" if relpath == NEWS_SITEMAP_PATH else "main"


def feed_links(config: Config) -> list[tuple[str, str, str]]:
    """The site's feeds for <head> autodiscovery: (MIME type, title, absolute URL)."""
    base, title = config.site.base_url, config.site.title
    return [
        ("application/rss+xml", f"{title} (RSS)", base + RSS_PATH),
        ("application/atom+xml", f"{title} (Atom)", base + ATOM_PATH),
        ("application/feed+json", f"{title} (JSON Feed)", base + JSON_PATH),
    ]


def tag_feed_url(config: Config, tag: str) -> str:
    """The absolute URL of a tag's RSS feed, themen/<slug>/feed.xml."""
    return f"{tag_page_url(config, tag)}{RSS_PATH}"


def tag_page_url(config: Config, tag: str) -> str:
    return f"{config.site.base_url}themen/{slugify(tag)}/"


WITHDRAWN_PREFIX = "ZURÜCKGEZOGEN: "


def feed_item(release: Release, config: Config, variants: Variants, body: str) -> FeedItem:
    tz = config.site.tz
    url = config.release_url(release.id)
    published = release.published.astimezone(tz)
    if release.withdrawn is not None:  # same GUID, the reason instead of the text, no photos
        withdrawn = replace(release, title=WITHDRAWN_PREFIX + release.title)
        reason = release.withdrawn.reason
        return FeedItem(withdrawn, url, reason, f"<p>{html.escape(reason)}</p>", published,
                     max(release.withdrawn.date, release.published).astimezone(tz), release.contact, ())
    photos = tuple(feed_photo(release, p, config, variants.get((release.id, p.file), ())) for p in release.photos)
    modified = release.modified
    updated = max(modified, release.published).astimezone(tz) if modified else published
    attachments = tuple(FeedAttachment(a.title, url + quote(a.file), mime_type(a.file), a.path.stat().st_size)
                        for a in release.attachments)
    return FeedItem(release, url, summary_of(release.summary, body), content_html(release, body, url, photos, tz),
                 published, updated, release.contact, photos, attachments)


def feed_photo(release: Release, photo: Photo, config: Config, made: tuple[Variant, ...]) -> FeedPhoto:
    base = config.site.base_url
    if made:
        files = tuple(FeedFile(v.name, base + quote(v.relpath), mime_type(v.relpath), v.size, v.width, v.height)
                      for v in made)
        picked = config.roles.pick(made)
        assert picked is not None
        web = files[made.index(picked.web)]
    else:
        web = FeedFile("original", f"{base}{release.id}/{quote(photo.file)}", mime_type(photo.file),
                    photo.path.stat().st_size)
        files = (web,)
    return FeedPhoto(photo, photo.rights, photo.usage, files, web)


def mime_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return MIME_TYPES.get(suffix) or mimetypes.types_map.get(suffix, "application/octet-stream")


def content_html(release: Release, body: str, url: str, photos: tuple[FeedPhoto, ...], tz: tzinfo) -> str:
    """Correction notes, subtitle, body (absolute URLs) and one figure per photo, as one HTML fragment."""
    parts = [f"<p><strong>Korrektur vom {lift_time(c.date, tz)}:</strong> {html.escape(c.text)}</p>"
             for c in reversed(release.corrections)]
    parts += [f"<p><strong>{html.escape(release.subtitle)}</strong></p>"] if release.subtitle else []
    parts.append(absolutize(body, url))
    for p in photos:
        size = f' width="{p.web.width}" height="{p.web.height}"' if p.web.width else ""
        parts.append(f'<figure><img src="{html.escape(p.web.url)}" alt="{html.escape(p.photo.alt)}"{size}>'
                     f"<figcaption>{html.escape(p.credit_line)}</figcaption></figure>")
    return "\n".join(parts)


def last_update(items: Sequence[FeedItem], config: Config) -> datetime:
    """When a feed last changed: its newest item update; the epoch for an empty feed (never the clock)."""
    return max((i.updated for i in items), default=EPOCH.astimezone(config.site.tz))


def author_of(contact: Contact | None) -> dict[str, str] | None:
    """The contact as feed author: name (else its label) and e-mail address, when it has them."""
    if contact is None or not (contact.name or contact.label):
        return None
    author = {"name": contact.name or contact.label}
    if contact.email:
        author["email"] = contact.email
    return author
