"""The content model: frozen releases, photos and attachments. No I/O, no rendering."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path

from .memo import memoized
from .schema import setting


@dataclass(frozen=True)
class Contact:
    """A `[contacts.<key>]` entry of pressekit.toml."""

    key: str
    label: str = setting("", "how the contact is introduced, e.g. 'Pressesprecherin'")
    name: str = setting("", "the person's name")
    phone: str = setting("", "the phone number")
    email: str = setting("", "the e-mail address")


@dataclass(frozen=True)
class Rights:
    """A `[rights.<key>]` entry of pressekit.toml: the usage terms photos are offered under."""

    key: str
    label: str = setting("", "the usage terms in a few words, e.g. 'Frei für die Berichterstattung'", required=True)
    copyright: str = setting("", "the copyright line; none: \"© <photographer or credit>\" in every output")
    url: str = setting("", "where the full licence is written")


# `source:` of a photo -> IPTC NewsCodes Digital Source Type (https://cv.iptc.org/newscodes/digitalsourcetype/)
DIGITAL_SOURCE_TYPES = {
    "camera": "digitalCapture",
    "ki": "trainedAlgorithmicMedia",
    "composite": "composite",
    "scan": "digitizedFromNegative",
}
DIGITAL_SOURCE_TYPE_URI = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@dataclass(frozen=True)
class PhotoRights:
    """Who made a photo, who holds it and on which terms: the one source every output reads."""

    credit: str        # the whole credit line (Fotonachweis)
    creator: str       # the photographer when given, else the credit
    copyright: str     # the rights' copyright, else "© <creator>"
    url: str           # the licence / usage terms page, may be empty
    usage_terms: str   # the rights' label
    photographer: str  # the person named in `photographer:`, may be empty


@dataclass(frozen=True)
class Photo:
    """A photo of a release as the front matter declares it (validated)."""

    file: str          # file name inside the release folder, e.g. "audit-team.jpg"
    path: Path         # absolute path of the source image
    caption: str
    credit: str        # the Fotonachweis, e.g. "Birgit Kalle/ Kreis Soest"
    alt: str
    rights: Rights     # the resolved [rights.*] entry (the default when none is named)
    line: int          # line of this photo's entry in index.md
    expires: datetime | None = None  # end of the licence or consent: gone from output/ from then on
    symbolic: bool = False           # a Symbolfoto (Pressekodex 2.2)
    source: str = "camera"           # key of DIGITAL_SOURCE_TYPES
    photographer: str = ""           # the person, when the credit also names the organisation

    @property
    def stem(self) -> str:
        return Path(self.file).stem

    @property
    def labelled_caption(self) -> str:
        """The caption with "(Symbolfoto)" and "(KI-generiert)" as the Pressekodex asks, everywhere it is shown."""
        labels = (" (Symbolfoto)" if self.symbolic else "") + (" (KI-generiert)" if self.source == "ki" else "")
        return self.caption + labels

    @property
    def usage(self) -> PhotoRights:
        """Credit, creator, copyright (with its one default), licence URL and usage terms of this photo."""
        creator = self.photographer or self.credit
        return PhotoRights(credit=self.credit, creator=creator,
                           copyright=self.rights.copyright or f"© {creator}", url=self.rights.url,
                           usage_terms=self.rights.label, photographer=self.photographer)

    @property
    def digital_source_type(self) -> str:
        """The IPTC Digital Source Type URI of `source`."""
        return DIGITAL_SOURCE_TYPE_URI + DIGITAL_SOURCE_TYPES[self.source]

    def is_shown(self, now: datetime) -> bool:
        """False from the moment the photo's licence or consent ends."""
        return self.expires is None or now < self.expires


@dataclass(frozen=True)
class Attachment:
    file: str
    path: Path
    title: str
    line: int


@dataclass(frozen=True)
class Correction:
    """A correction of a published release: when, and what was corrected (one paragraph)."""

    date: datetime
    text: str
    line: int


@dataclass(frozen=True)
class Withdrawal:
    """The withdrawal of a release: when and why."""

    date: datetime
    reason: str
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
    contact: Contact | None = None  # the resolved [contacts.*] entry (the default when none is named)
    draft: bool = False
    send: bool = True          # False: `pressekit publish` never mails it to the subscribers
    photos: tuple[Photo, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    corrections: tuple[Correction, ...] = ()  # oldest first
    withdrawn: Withdrawal | None = None
    event: Event | None = None

    @property
    def folder(self) -> Path:
        return self.source.parent

    @memoized
    def published(self) -> datetime:
        """When the release goes public: the later of its date and its embargo (kept: lists, feeds and
        the schedule ask each release for it about ten times a build)."""
        return max(self.date, self.embargo) if self.embargo else self.date

    def is_public(self, now: datetime) -> bool:
        """True when the release may appear in output/ at `now`."""
        return not self.draft and self.published <= now

    def is_withdrawn(self, now: datetime) -> bool:
        """True from the moment of its withdrawal: only a tombstone page remains."""
        return self.withdrawn is not None and self.withdrawn.date <= now

    @property
    def modified(self) -> datetime | None:
        """The time of the last correction: `updated`, else the newest correction, else None."""
        times = [c.date for c in self.corrections] + ([self.updated] if self.updated else [])
        return max(times) if times else None

    def at(self, now: datetime) -> Release:
        """The release as output/ shows it at `now`: corrections and a withdrawal made by then, photos not
        yet expired; a withdrawn one keeps no body, photos or attachments (its page is a tombstone)."""
        if not (self.withdrawn or self.corrections or self.photos):
            return self  # most releases: nothing changes with time
        if self.is_withdrawn(now):
            return replace(self, body="", photos=(), attachments=())
        corrections = tuple(c for c in self.corrections if c.date <= now)
        photos = tuple(p for p in self.photos if p.is_shown(now))
        if self.withdrawn is None and corrections == self.corrections and photos == self.photos:
            return self
        return replace(self, photos=photos, corrections=corrections, withdrawn=None)

    def changes(self) -> list[datetime]:
        """The times after publication at which output/ changes: corrections, photo expiries, the withdrawal."""
        times = [c.date for c in self.corrections] + [p.expires for p in self.photos if p.expires is not None]
        return times + ([self.withdrawn.date] if self.withdrawn else [])

    @memoized
    def fingerprint(self) -> str:
        """A digest of every field: equal fingerprints, equal releases (kept with a cached release)."""
        return hashlib.sha256(repr(self).encode("utf-8", "surrogatepass")).hexdigest()

    @memoized
    def without_body(self) -> Release:
        """The release as a list shows it: every field but the body. A release from the parse cache knows its
        fingerprint (`keep_digests`), so it is made as a copy of this one's fields, not fingerprinted again."""
        fingerprint = self.__dict__.get(_LEAN)
        if fingerprint is None:
            return replace(self, body="")
        lean = object.__new__(Release)
        lean.__dict__.update(self.__dict__, body="", fingerprint=fingerprint)
        del lean.__dict__[_LEAN]
        return lean

    def keep_digests(self) -> None:
        """Compute the digests the parse cache keeps with a release: its fingerprint and its `without_body`'s."""
        if _LEAN not in self.__dict__:
            self.__dict__[_LEAN] = self.without_body.fingerprint
        self.fingerprint  # noqa: B018

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled as the tuple of its fields and its cached digests, the source as a string: the parse
        cache of an archive of 10,000 releases loads in half the time the generic dataclass pickle takes."""
        return _restore_release, (self._values(self.body), self._cached())

    def _values(self, body: str | None) -> tuple[object, ...]:
        values = self.__dict__
        source = str(values["source"]) if "source" in values else values[_SOURCE]
        return tuple([source if name == "source" else body if name == "body" else values[name] for name in _FIELDS])

    def _cached(self) -> dict[str, object]:
        return {name: self.__dict__[name] for name in _CACHED if name in self.__dict__}


def reduce_without_body(release: Release) -> tuple[object, ...]:
    """How the parse cache pickles a release: without its body, which is read again from index.md when
    asked for (see `_BodyInFile`). Most bodies of an archive are never needed in a build that follows an
    edit, and they are nine tenths of the cache's bytes."""
    body = release.__dict__.get("body")
    return _restore_release, (release._values("" if body == "" else None), release._cached())


def _restore_release(values: tuple[object, ...], cached: dict[str, object]) -> Release:
    release = object.__new__(Release)
    fields = release.__dict__
    fields.update(zip(_FIELDS, values), **cached)
    fields[_SOURCE] = fields.pop("source")
    if fields["body"] is None:
        del fields["body"]
    return release


class _SourcePath:
    """`Release.source` of a release restored from a pickle: made a Path when first read. Most releases of
    an archive are never asked for it in a build, and making 10,000 Paths costs a twentieth of a second."""

    def __get__(self, release: Release | None, owner: type) -> object:
        if release is None:
            return self
        path = release.__dict__["source"] = Path(release.__dict__.pop(_SOURCE))
        return path


class _BodyInFile:
    """`Release.body` of a release restored from the parse cache: read again from its index.md, which the
    cache holds unchanged since it was parsed (its stamp is checked before an entry is used)."""

    def __get__(self, release: Release | None, owner: type) -> object:
        if release is None:
            return self
        from .errors import BuildFailed, SourceError, display_path
        from .frontmatter import body_of
        from .paths import RELEASES_DIR

        source = release.source
        try:
            found = body_of(source.read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            found = None
        if found is None or found[1] != release.body_line:
            site = next((folder.parent for folder in source.parents if folder.name == RELEASES_DIR), source.parent)
            raise BuildFailed([SourceError(display_path(source, site), 1, "index.md changed while the build was "
                                           "reading it", "run the build again")])
        release.__dict__["body"] = found[0]
        return found[0]


_SOURCE = "_source_text"
_FIELDS = tuple(f.name for f in fields(Release))
_LEAN = "_lean_fingerprint"  # the fingerprint of `without_body`
_CACHED = ("fingerprint", _LEAN)
# set after @dataclass: a class attribute there would be taken as the field's default
setattr(Release, "body", _BodyInFile())
setattr(Release, "source", _SourcePath())


@dataclass(frozen=True)
class Variant:
    """A photo variant that the photo stage made: `output/<relpath>`."""

    name: str          # variant name from [photos] variants, e.g. "web"
    relpath: str       # path under output/, e.g. "2025-07-02-x/photos/team-web.jpg"
    width: int
    height: int
    size: int          # bytes


@dataclass(frozen=True)
class VariantRoles:
    """Which configured variant serves as thumbnail, web picture and print file: decided once per site."""

    thumb: str   # "thumb", else the narrowest
    web: str     # "web", else the widest with the credit burnt in, else the narrowest
    print: str   # the widest with the credit in the metadata only, else the widest

    def pick(self, made: Sequence[Variant]) -> PhotoFiles | None:
        """The made variants in their roles; None when none was made (the original is linked)."""
        if not made:
            return None
        named = {v.name: v for v in made}
        return PhotoFiles(named[self.thumb], named[self.web], named[self.print])


@dataclass(frozen=True)
class PhotoFiles:
    """One photo's made variants in their roles."""

    thumb: Variant
    web: Variant
    print: Variant


def variant_roles(specs: Sequence[tuple[str, int, bool]]) -> VariantRoles:
    """The roles of the configured variants, given as (name, width, credit burnt in)."""
    names = [name for name, _, _ in specs]
    narrowest = min(specs, key=lambda s: s[1])[0]
    burnt = [s for s in specs if s[2]]
    clean = [s for s in specs if not s[2]]
    web = "web" if "web" in names else (max(burnt, key=lambda s: s[1])[0] if burnt else narrowest)
    return VariantRoles(thumb="thumb" if "thumb" in names else narrowest, web=web,
                        print=max(clean or specs, key=lambda s: s[1])[0])


def times_of_change(releases: Iterable[Release]) -> Iterator[datetime]:
    """Every time output/ changes by itself: publications, corrections, photo expiries, withdrawals, and
    press dates moving to the past."""
    for release in releases:
        if not release.draft:
            yield release.published
            yield from release.changes()
            if release.event:
                yield release.event.until


def public_releases(releases: list[Release] | tuple[Release, ...], now: datetime) -> list[Release]:
    """Return the releases public at `now`, newest first (ties broken by id for stable order)."""
    return sorted([r for r in releases if r.is_public(now)], key=age_order, reverse=True)


def age_order(release: Release) -> tuple[datetime, str]:
    """The order of releases by publication (ties broken by id): the newest is the greatest."""
    return release.published, release.id
