"""An output group, what each step of the build that makes groups shares, and how a step collects its groups.

A group is one release page, one release's e-mails, one list page, the archive, a feed, the
sitemap, the photos or the copied files: the files one key stands for. The key digests the view
the group renders from (`views`), the templates it is rendered with and the configuration, so a
group with the key it had in the last build is not rendered again but taken over as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .cache import CODE_KEY, content_digest, digest, file_stamp
from .config import Config
from .feed_items import feed_links
from .output import OutputFile
from .pages import PageRenderer
from .paths import CACHE_DIR, CONFIG_NAME
from .sitepages import SiteLinks, SitePage, site_links
from .state import Groups, ListKeys, TeaserKeys, ViewKeys
from .templates import make_environment
from .views import TemplateDigests, TemplateRefs
from .workers import RenderPool, Staging

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Made:
    """What one step of the build gives: its output groups, and how many pages it rendered and reused."""

    groups: Groups
    rendered: int = 0
    reused: int = 0


@dataclass(frozen=True)
class ListsMade:
    """The list step's groups, every list's inputs and page keys, every teaser's, and the digest of all the
    lists show (for the next build)."""

    made: Made
    lists: dict[str, ListKeys]
    teasers: dict[str, TeaserKeys]
    key: str


@dataclass(frozen=True)
class ReleasesMade:
    """The release step's groups, every public release's summary (for list pages and the next build) and
    its view keys (for the next build)."""

    made: Made
    summaries: dict[str, str]
    views: dict[str, ViewKeys]


@dataclass(frozen=True)
class Context:
    """What every rendering step shares: the site, the moment, the last build's groups and the staging folder."""

    config: Config
    now: datetime
    preview: bool
    jobs: int
    progress: Progress | None
    previous: Groups
    staging: Path
    links: SiteLinks
    base: str                    # the part of every key that is the code, the config and the site's links
    templates: TemplateDigests
    pages: PageRenderer


def context(config: Config, now: datetime, preview: bool, jobs: int | None, progress: Progress | None,
            previous: Groups, staging: Path, site_pages: list[SitePage], refs: TemplateRefs | None = None) -> Context:
    links = site_links(site_pages)
    env = make_environment(config, links, compiled=True)
    return Context(config, now, preview, jobs or os.cpu_count() or 1, progress, previous, staging, links,
                   digest(CODE_KEY, content_digest(config.root / CONFIG_NAME), preview, links),
                   TemplateDigests(env, refs), PageRenderer(env, config, feed_links(config)))


class Collector:
    """The groups of one step, each reused from the last build when its key is unchanged."""

    def __init__(self, ctx: Context):
        self.previous = ctx.previous
        self.staging = Staging(ctx.staging)
        self.groups: Groups = {}

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

    def keep_or_put(self, name: str, key: str, make: Callable[[], list[OutputFile]]) -> None:
        if not self.reuse(name, key):
            self.put(name, key, make())


def _source_key(path: Path | None) -> str:
    return f"{path}:{file_stamp(path)}" if path else ""


def render_pool(ctx: Context) -> RenderPool:
    return RenderPool(ctx.config, ctx.staging, ctx.config.root / CACHE_DIR / "bodies", ctx.jobs, ctx.links)
