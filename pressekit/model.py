"""The content model: frozen releases, photos and attachments. No I/O, no rendering."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cached_property
from pathlib import Path

NEWS_WINDOW = timedelta(days=2)  # Google News lists articles of the last two days


@dataclass(frozen=True)
class Photo:
    """A photo of a release as the front matter declares it (validated)."""

    file: str          # file name inside the release folder, e.g. "audit-team.jpg"
    path: Path         # absolute path of the source image
    caption: str
    credit: str        # the Fotonachweis, e.g. "Birgit Kalle/ Kreis Soest"
    alt: str
    rights: str        # key of [rights.*] (already resolved to an existing key)
    line: int          # line of this photo's entry in index.md

    @property
    def stem(self) -> str:
        return Path(self.file).stem


@dataclass(frozen=True)
class Attachment:
    file: str
    path: Path
    title: str
    line: int


@dataclass(frozen=True)
class Event:
    """A press date a release announces (`event:` in the front matter, validated)."""

    start: datetime            # aware
    location: str              # e.g. "Kreishaus Auenfeld, Sitzungssaal"
    line: int                  # line of `event:` in index.md
    end: datetime | None = None
    address: str = ""
    accreditation: str = ""    # how journalists register, e.g. "bis 8. April an presse@…"
    cancelled: bool = False

    @property
    def until(self) -> datetime:
        """When the date is over: its end, else its start."""
        return self.end or self.start


@dataclass(frozen=True)
class Release:
    """One validated release bundle `releases/<id>/index.md`."""

    id: str                    # folder name: permanent id and URL path
    source: Path               # absolute path of index.md
    title: str
    date: datetime             # Meldungsdatum, aware (date-only input: midnight in the site's zone)
    date_has_time: bool        # False when the front matter gave a plain date
    body: str                  # Markdown source of the body
    body_line: int             # line of index.md where the body starts
    subtitle: str = ""
    summary: str = ""          # as written; empty means "first paragraph" (see markup.summary_of)
    dateline: str = ""
    embargo: datetime | None = None
    updated: datetime | None = None
    tags: tuple[str, ...] = ()
    contact: str | None = None  # key of [contacts.*]; None: the site's default contact
    draft: bool = False
    photos: tuple[Photo, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    event: Event | None = None

    @property
    def folder(self) -> Path:
        return self.source.parent

    @property
    def published(self) -> datetime:
        """When the release goes public: the later of its date and its embargo."""
        return max(self.date, self.embargo) if self.embargo else self.date

    def is_public(self, now: datetime) -> bool:
        """True when the release may appear in output/ at `now`."""
        return not self.draft and self.published <= now

    @cached_property
    def fingerprint(self) -> str:
        """A digest of every field: equal fingerprints, equal releases (kept with a cached release)."""
        return hashlib.sha256(repr(self).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Variant:
    """A photo variant that the photo stage made: `output/<relpath>`."""

    name: str          # variant name from [photos] variants, e.g. "web"
    relpath: str       # path under output/, e.g. "2025-07-02-x/photos/team-web.jpg"
    width: int
    height: int
    size: int          # bytes


def lift_time(value: datetime, tz: tzinfo) -> str:
    """A time as embargoes are written in German: '15.01.2027, 10:00 Uhr', in the site's time zone."""
    return value.astimezone(tz).strftime("%d.%m.%Y, %H:%M Uhr")


def web_variant(made: Sequence[Variant], burnt: Collection[str]) -> Variant:
    """The variant pages and feeds show: "web", else the widest with the credit burnt in, else the narrowest."""
    named = next((v for v in made if v.name == "web"), None)
    burn = [v for v in made if v.name in burnt]
    return named or (max(burn, key=lambda v: v.width) if burn else min(made, key=lambda v: v.width))


def public_releases(releases: list[Release] | tuple[Release, ...], now: datetime) -> list[Release]:
    """Return the releases public at `now`, newest first (ties broken by id for stable order)."""
    public = [r for r in releases if r.is_public(now)]
    return sorted(public, key=lambda r: (r.published, r.id), reverse=True)
