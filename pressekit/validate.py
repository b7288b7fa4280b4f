"""One validation for `check`, `build`, `serve` and `email`: config, front matter, photos and templates.

Every command that reads a site runs `validate_site`, so they agree on what is an error, and every
problem of every kind is reported in one run:

1. pressekit.toml (nothing else can be checked without it);
2. the front matter and body of every release (`releases.load_releases`);
3. every photo of every valid release (`photos.check_release_photos`: readable, allowed, complete);
4. every template (site overrides and theme): compiled, then each rendered once with a sample release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import jinja2
from jinja2 import Environment, TemplateSyntaxError

from .cache import CODE_KEY, Store, content_digest, digest, file_stamp
from .config import Config
from .config_file import load_config
from .errors import BuildFailed, SourceError, display_path
from .model import Release, Variant, age_order
from .paths import CONFIG_NAME
from .releases import ParseCache, load_releases
from .scan import TreeScan
from .templates import TEMPLATE_SUFFIXES, template_error

PHOTO_CHECKS = "photo-checks"
TEMPLATE_CHECKS = "template-checks"  # the key of the templates that passed the last check


@dataclass(frozen=True)
class Validation:
    """What validating a site found: the config and valid releases, and every error and warning."""

    config: Config | None
    releases: tuple[Release, ...]
    problems: tuple[SourceError, ...]

    @property
    def errors(self) -> list[SourceError]:
        return [p for p in self.problems if not p.warning]


def validate_site(root: Path, now: datetime, cache: ParseCache | None = None, store: Store | None = None,
                  only: str | None = None, scan: TreeScan | None = None) -> Validation:
    """Validate the site at root; with `only`, the photos and templates are checked with that release alone.

    `cache` is the parse cache of `load_releases`; `store` keeps photo results by file stamp between runs;
    `scan` is the walk of releases/ when the caller made it already.
    """
    config, errors = load_config(root)
    if config is None:
        return Validation(None, (), tuple(errors))
    releases, errors = load_releases(config, cache, scan)
    subject = [r for r in releases if r.id == only] if only is not None else releases
    problems = errors + photo_problems(config, subject, store)
    if only is None or subject:
        checked = template_problems(config, releases if only is None else subject, now, store)
        problems += checked.problems
        if store is not None and checked.new_key and not any(not p.warning for p in problems):
            store.save(TEMPLATE_CHECKS, checked.new_key)  # kept only from a clean run: a failed build writes nothing
    return Validation(config, tuple(releases), tuple(problems))


def load_valid_site(root: Path, now: datetime, cache: ParseCache | None = None, store: Store | None = None,
                    only: str | None = None) -> tuple[Config, list[Release]]:
    """validate_site for the commands that go on to write: return config and releases, or raise BuildFailed."""
    result = validate_site(root, now, cache, store, only)
    if result.config is None or result.errors:
        raise BuildFailed(result.errors)
    return result.config, list(result.releases)


# --- photos --------------------------------------------------------------------------------------------

def photo_problems(config: Config, releases: list[Release], store: Store | None = None) -> list[SourceError]:
    """Errors and warnings of every photo of these releases; results kept in `store` by the photos' file stamps."""
    from .photos import check_release_photos

    known: dict[object, list[SourceError]] = (store.load(PHOTO_CHECKS) if store else None) or {}
    used: dict[object, list[SourceError]] = {}
    out: list[SourceError] = []
    for release in releases:
        if not release.photos:
            continue
        key = (display_path(release.source, config.root), config.variants,
               tuple((p.line, p.file, p.path, file_stamp(p.path)) for p in release.photos))
        found = known[key] if key in known else check_release_photos(release, config)
        used[key] = found
        out += found
    if store is not None and used.keys() != known.keys():
        store.save(PHOTO_CHECKS, used)
    return out


# --- templates -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateCheck:
    problems: list[SourceError]
    new_key: str | None = None  # to keep in the store when the whole site is clean; None: nothing new to keep


def template_problems(config: Config, releases: list[Release], now: datetime,
                      store: Store | None = None) -> TemplateCheck:
    """Errors of every template: each is compiled, then the pages and e-mails are rendered once for a sample.

    With a `store`, a clean result is known by the digest of every template, the config and the
    sample: templates that passed are not compiled and rendered again while none of those changed.
    """
    from .mail import mail_environment

    env = mail_environment(config)  # compiled templates are not kept: a failed build writes nothing
    key = _templates_key(env, config, releases, now) if store is not None else None
    if store is not None and store.load(TEMPLATE_CHECKS) == key:
        return TemplateCheck([])
    problems = _template_problems(env, config, releases, now)
    return TemplateCheck(problems, None if problems else key)


def _templates_key(env: Environment, config: Config, releases: list[Release], now: datetime) -> str:
    sources = []
    for name in env.list_templates():
        source, filename, _ = env.loader.get_source(env, name) if env.loader else ("", None, None)
        sources.append((name, filename, source))
    sample = _sample(releases, now)
    return digest(CODE_KEY, jinja2.__version__, content_digest(config.root / CONFIG_NAME), sources,
                  sample.fingerprint if sample else None)


def _sample(releases: list[Release], now: datetime) -> Release | None:
    """The release the sample pages are rendered with: the newest public one, else the newest."""
    newest = max((r for r in releases if r.is_public(now)), key=age_order, default=None)
    return newest or max(releases, key=age_order, default=None)


def _template_problems(env: Environment, config: Config, releases: list[Release], now: datetime) -> list[SourceError]:
    errors: list[SourceError] = []
    for name in env.list_templates(filter_func=lambda n: n.endswith(TEMPLATE_SUFFIXES) and "/" not in n):
        try:
            env.get_template(name)
        except TemplateSyntaxError as exc:
            errors.append(template_error(exc, config.root, "") or SourceError(name, exc.lineno, exc.message or ""))
    if errors:
        return errors  # rendering would only meet the same errors again
    found = {(e.path, e.line): e for render in reversed(list(_sample_renders(env, config, releases, now)))
             for e in _render_errors(render)}  # a template line that fails for several pages: the first page's
    return list(found.values())


def _render_errors(render: Callable[[], object]) -> list[SourceError]:
    try:
        render()
    except BuildFailed as exc:
        return exc.errors
    return []


def _sample_renders(env: Environment, config: Config, releases: list[Release],
                    now: datetime) -> Iterator[Callable[[], object]]:
    """Callables rendering each kind of page and the e-mails once, with the newest public release as sample."""
    from . import mail
    from .feed_items import feed_links
    from .lists import list_specs
    from .markup import render_html, summary_of
    from .pages import PageRenderer, teaser_of

    pages = PageRenderer(env, config, feed_links(config))
    sample = _sample(releases, now)
    teasers = []
    if sample is not None:
        body = render_html(sample.body)
        variants = {(sample.id, photo.file): planned_variants(sample, photo.file, config) for photo in sample.photos}
        teasers.append(teaser_of(sample, summary_of(sample.summary, body), variants, config))
        yield partial(pages.release_page, sample, body, variants, {}, None)
        yield partial(mail.render_email, sample, config, variants, body, env=env)
    for spec in list_specs(pages, config, teasers):
        yield partial(pages.render_list, spec)
    tags = sorted({(t, t) for r in teasers for t in r.release.tags})
    years = sorted({(r.release.published.astimezone(config.site.tz).year, 1) for r in teasers})
    yield partial(pages.archive, years, tags)
    yield pages.not_found
    yield partial(pages.sitemap, [(config.site.base_url, now)])


def planned_variants(release: Release, file: str, config: Config) -> tuple[Variant, ...]:
    """The variants a build would make of a photo, sized as if 3:2 (for rendering a sample without making them)."""
    from .photos import variant_relpath

    photo = next(p for p in release.photos if p.file == file)
    return tuple(Variant(spec.name, variant_relpath(release, photo, spec), spec.width, spec.width * 2 // 3, 0)
                 for spec in config.variants)
