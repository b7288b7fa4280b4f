"""What every part of the subscription service needs: the site's config, key, topics, templates and links."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment

from ..config import Config

from ..config_file import load_config
from ..errors import BuildFailed, PressekitError
from ..releases import load_releases
from ..text import slugify
from ..sitepages import load_pages, site_links
from ..templates import make_environment
from ..unsubscribe import unsubscribe_secret
from .store import Store, open_store
from .tokens import Tokens

CONSENT_TEMPLATE = "abo/einwilligung.txt"


@dataclass(frozen=True)
class ServiceSite:
    """The site as the service sees it; made once by `load_service_site`."""

    config: Config
    secret: bytes
    tokens: Tokens
    topics: tuple[str, ...]        # the site's tags, in the order the form shows them
    env: Environment

    @property
    def url(self) -> str:
        """The public base URL of the service, ending in '/'."""
        return self.config.subscriptions.url

    @property
    def prefix(self) -> str:
        """The path of the service below its host, without the trailing '/' ('' at the root)."""
        return urlsplit(self.url).path.rstrip("/")

    def consent_text(self) -> str:
        """The consent text the form shows, as the site's template renders it."""
        return self.env.get_template(CONSENT_TEMPLATE).render().strip()

    def open_store(self) -> Store:
        return open_store(self.config.root, self.secret)

    def confirm_url(self, subscriber: int, nonce: str, now: datetime) -> str:
        token = self.tokens.confirm_token(subscriber, nonce, now, self.config.subscriptions.confirm_hours)
        return f"{self.url}bestaetigen/{token}"

    def manage_url(self, page: str, subscriber: int, version: int) -> str:
        """The `einstellungen/` or `abmelden/` link of a subscriber."""
        return f"{self.url}{page}/{self.tokens.manage_token(subscriber, version)}"

    def topic(self, wanted: str) -> str | None:
        """The site's tag named or slugged `wanted` (for ?thema=), or None."""
        key = wanted.casefold()
        return next((t for t in self.topics if t.casefold() == key or slugify(t) == key), None)


def load_service_site(root: Path, environ: Mapping[str, str] | None = None) -> ServiceSite:
    """Read the site for the service; raise BuildFailed or PressekitError when it cannot run."""
    config, errors = load_config(root)
    if config is None:
        raise BuildFailed(errors)
    if not config.subscriptions.url:
        raise PressekitError("pressekit.toml: [subscriptions] url is not set; it is the public address of the "
                             "subscription service, e.g. url = \"https://presse.example.de/abo/\"")
    secret = unsubscribe_secret(config, os.environ if environ is None else environ)
    releases, _ = load_releases(config)  # a broken release is `check`'s business; its tags just do not show
    tags = {t.casefold(): t for r in releases if not r.draft for t in r.tags}
    topics = tuple(sorted(tags.values(), key=str.casefold))
    # the pages' links too: Impressum and Datenschutz must be reachable from the service's pages as from any other
    pages, _ = load_pages(config, {r.id for r in releases})
    return ServiceSite(config, secret, Tokens(secret), topics, make_environment(config, site_links(pages)))
