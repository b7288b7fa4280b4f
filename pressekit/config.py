"""The site configuration as frozen values: each setting of pressekit.toml is a field (`schema.setting`).

`config_file` reads the file into them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from .model import Contact, Rights, VariantRoles, variant_roles
from .schema import setting



@dataclass(frozen=True)
class Site:
    """[site]: the newsroom itself."""

    title: str = setting("", "the newsroom's name, e.g. 'Pressestelle Landkreis Auenfeld'", required=True)
    organisation: str = setting("", "who publishes: the author of feeds and JSON-LD", required=True)
    base_url: str = setting("", "the public http(s) URL of output/, ending in '/'", required=True)
    language: str = setting("de", "the language of the pages and feeds")
    timezone: str = setting("Europe/Berlin", "the IANA time zone every date is shown in")
    description: str = setting("", "one sentence for feeds and search engines")
    dateline: str = setting("", "the place a release is datelined in when it names none")
    per_page: int = setting(20, "releases per newsroom page")
    image: str = setting("", "a JPEG or PNG in the site folder shown when a page has none of its own (og:image)")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        return re.sub(r"^[a-z]+://", "", self.base_url).split("/")[0].split(":")[0]


@dataclass(frozen=True)
class Texts:
    """[texts]: fixed paragraphs of the e-mail and the pages."""

    photo_notice: str = setting("", "under the photos: how they may be used", paragraphs=True)
    reuse: str = setting("", "how the release may be reused", paragraphs=True)
    membership: str = setting("", "who the press office belongs to", paragraphs=True)


@dataclass(frozen=True)
class Boilerplate:
    """[boilerplate]: the "Über uns" paragraph under every release."""

    heading: str = setting("", "its heading")
    text: str = setting("", "its paragraphs", paragraphs=True)


@dataclass(frozen=True)
class VariantSpec:
    """One of [photos] variants: a size every photo is made in."""

    name: str = setting("", "a-z, 0-9, '-' and '_': the file name suffix", required=True)
    width: int = setting(0, "the width in pixels (16-10000)", required=True)
    credit: str = setting("burn", "'burn': the credit drawn into the picture; 'metadata': only in IPTC/XMP")
    quality: int = setting(0, "JPEG quality 1-100; 0: 92 with the credit in metadata, else 85")


@dataclass(frozen=True)
class Feeds:
    """[feeds]: RSS, Atom and JSON Feed."""

    items: int = setting(50, "releases per feed")
    websub_hub: str = setting("", "a WebSub hub to announce the feeds at")


@dataclass(frozen=True)
class Email:
    """[email]: the release as e-mail."""

    sender: str = setting("", "the From: address, e.g. 'Pressestelle <presse@example.org>'", toml="from")
    layout: str = setting("presse-service", "'presse-service' or 'ots'")
    attach_photos: bool = setting(False, "attach the web variant of each photo")
    attach_limit_mb: float = setting(10.0, "the most the attached photos may weigh together")
    links: bool = setting(True, "Unterzeile, contact e-mail and a link block for editors (false: press-service layout)")


@dataclass(frozen=True)
class Send:
    """[send]: `pressekit send` and `publish`."""

    rate: float = setting(60.0, "messages per minute; 0: unlimited")
    suppress: str = setting("", "the CSV of addresses never to send to")
    unsubscribe_mailto: str = setting("", "the List-Unsubscribe mailto: address")
    unsubscribe_url: str = setting("", "the https:// one-click unsubscribe endpoint")
    list_id: str = setting("", "the List-Id header")
    max_age_days: float = setting(2.0, "`publish` never sends a release older than this automatically")


@dataclass(frozen=True)
class Subscriptions:
    """The subscription service (`pressekit service`); off while `url` is empty."""

    url: str = setting("", "its public base URL, ending in '/'")
    confirm_hours: int = setting(48, "how long a confirmation link is valid")
    keep_ip_days: int = setting(30, "IP addresses in the audit trail are erased after this many days")
    mails_per_day: int = setting(3, "confirmation mails to one address within 24 hours")
    signups_per_hour: int = setting(10, "sign-up requests from one IP address within an hour")


@dataclass(frozen=True)
class Dkim:
    """[dkim]: sign every sent message; the key comes from a file outside the site or the environment."""

    domain: str = setting("", "the signing domain (d=)", required=True)
    selector: str = setting("", "the DNS selector (s=), e.g. 'presse2026'", required=True)
    key_file: str = setting("", "a path outside the site, readable by its owner only")
    key_env: str = setting("", "or the name of an environment variable holding the PEM key")
    line: int = 1        # where [dkim] stands in pressekit.toml, for messages about the key

    @property
    def enabled(self) -> bool:
        return bool(self.domain)


@dataclass(frozen=True)
class Smtp:
    """[smtp]: the server `send` hands the messages to; the password only from the environment."""

    host: str = setting("localhost", "the server's name")
    port: int = setting(25, "its port")
    starttls: bool = setting(False, "upgrade the connection with STARTTLS")
    tls: bool = setting(False, "connect with TLS from the start (port 465)")
    username: str = setting("", "the login name; none: no AUTH")
    password_env: str = setting("PRESSEKIT_SMTP_PASSWORD", "the environment variable holding the password")
    timeout: float = setting(30.0, "seconds to wait for the server")


DEFAULT_VARIANTS = (
    VariantSpec("thumb", 400, "burn", 85),
    VariantSpec("web", 1200, "burn", 85),
    VariantSpec("print", 3000, "metadata", 92),
)


@dataclass(frozen=True)
class Config:
    """The whole site configuration; `root` is the site folder."""

    root: Path
    site: Site
    texts: Texts
    boilerplate: Boilerplate
    contacts: tuple[Contact, ...]
    rights: tuple[Rights, ...]
    variants: tuple[VariantSpec, ...] = DEFAULT_VARIANTS
    feeds: Feeds = Feeds()
    email: Email = Email()
    send: Send = Send()
    smtp: Smtp = Smtp()
    subscriptions: Subscriptions = Subscriptions()
    dkim: Dkim = Dkim()

    def release_url(self, release_id: str) -> str:
        """The permanent absolute URL of a release page."""
        return f"{self.site.base_url}{release_id}/"

    @property
    def site_image_url(self) -> str:
        """The absolute URL of `[site] image` (copied to output/assets/), or "" without one."""
        return f"{self.site.base_url}assets/{Path(self.site.image).name}" if self.site.image else ""

    @property
    def burnt_variants(self) -> frozenset[str]:
        """Names of the variants with the credit drawn into the picture."""
        return frozenset(v.name for v in self.variants if v.credit == "burn")

    @property
    def roles(self) -> VariantRoles:
        """Which variant is every photo's thumbnail, web picture and print file."""
        return variant_roles([(v.name, v.width, v.credit == "burn") for v in self.variants])

    def contact(self, key: str | None) -> Contact | None:
        """Return the contact with `key`, or the default (first) contact for None."""
        if key is None:
            return self.contacts[0] if self.contacts else None
        return next((c for c in self.contacts if c.key == key), None)

    def rights_for(self, key: str | None) -> Rights | None:
        """Return the rights with `key`, or the default (first) rights for None."""
        if key is None:
            return self.rights[0] if self.rights else None
        return next((r for r in self.rights if r.key == key), None)
