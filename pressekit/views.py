"""What an output group renders from: frozen views, their digests and the templates they use.

A group's cache key is the digest of its view plus the digest of its templates (the template and
everything it extends, includes or imports). Whatever a template prints comes from its view (or
from the configuration, which every key holds), so a group whose key is unchanged renders the
same bytes, and an incremental build equals a clean one for any site template.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, TemplateNotFound, meta

from .memo import memoized
from .model import Release, Variant

VariantMap = Mapping[tuple[str, str], tuple[Variant, ...]]
TEMPLATE_SUFFIXES = (".html", ".txt", ".xml")


class View:
    """A frozen dataclass that templates (or the feed writer) render from; its digest is its cache key."""

    @memoized
    def digest(self) -> str:
        """sha256 of every field: releases and nested views by their (cached) digests, the rest by its repr.

        A dataclass's repr shows every field, so no field of a view can change without changing its digest.
        """
        parts = [type(self).__qualname__]
        parts += [f"{name}={_canonical(getattr(self, name))}" for name in _field_names(type(self))]
        return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def known_digest(view: View, digest: str) -> None:
    """Give view the digest a view with the same fields had before (kept where `View.digest` keeps it)."""
    view.__dict__["digest"] = digest


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The field names of a view class (dataclasses.fields is slow enough to show at 10,000 releases)."""
    if cls not in _FIELDS:
        _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return _FIELDS[cls]


def _canonical(value: object) -> str:
    """A release by its fingerprint, a view by its digest, a tuple of them by theirs, the rest by its repr.

    Only a tuple whose first item is a release or view is taken apart: any other is shown whole by its
    repr, which holds every field of whatever it contains, so the digest is exact either way.
    """
    if type(value) is str:  # most fields: the common case first
        return repr(value)
    if isinstance(value, Release):
        return "R:" + value.fingerprint
    if isinstance(value, View):
        return "V:" + value.digest
    if type(value) is tuple and value and isinstance(value[0], (Release, View)):
        return "(" + ",".join(map(_canonical, value)) + ")"
    return repr(value)


@dataclass(frozen=True)
class ReleaseView(View):
    """What a release page is rendered from (the body HTML is a function of `release.body`, memoised)."""

    release: Release
    variants: VariantMap             # the variants of this release's photos
    attachment_sizes: Mapping[str, int]
    zip_size: int | None
    banner: str                      # preview only: ENTWURF, SPERRFRIST …


@dataclass(frozen=True)
class MailView(View):
    """What a release's e-mails are rendered from."""

    release: Release
    variants: VariantMap
    variant_files: Mapping[str, Path]  # relpath -> cached variant file, for attaching photos
    attachment_sizes: Mapping[str, int]  # for the link lines "(PDF, 1,2 MB)"


@dataclass(frozen=True)
class FeedEntry(View):
    """What every feed shows of a release."""

    release: Release
    variants: VariantMap
    sizes: Mapping[str, int]  # bytes of its attachments and photo files: the enclosures give them


TemplateRefs = dict[str, tuple[str | None, ...]]  # sha256 of a template's source -> the templates it names


class TemplateDigests:
    """Digests of templates with everything they extend, include or import, as the environment loads them.

    `refs` remembers what each template source references (kept between builds by the caller), so
    templates are parsed only when their source is new; `used_refs` is what to keep for the next build,
    and `refs_changed` says whether it differs from what was given.
    """

    def __init__(self, env: Environment, refs: TemplateRefs | None = None):
        self.env = env
        self.given: TemplateRefs = dict(refs or {})
        self.refs: TemplateRefs = dict(self.given)
        self.used_refs: TemplateRefs = {}
        self.known: dict[str, str] = {}
        self.closures: dict[tuple[str, ...], tuple[str, ...]] = {}

    def of(self, *names: str) -> str:
        """The digest of these templates and their closure; a template missing or named at run time counts too."""
        h = hashlib.sha256()
        if names not in self.closures:
            self.closures[names] = tuple(sorted(closure(self.env, names, self._references)))
        for name in self.closures[names]:
            if name not in self.known:
                self.known[name] = _source_digest(self.env, name)
            h.update(f"{name}\0{self.known[name]}\0".encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _references(self, source: str) -> tuple[str | None, ...]:
        key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        if key not in self.refs:
            self.refs[key] = tuple(meta.find_referenced_templates(self.env.parse(source)))
        self.used_refs[key] = self.refs[key]
        return self.refs[key]

    @property
    def refs_changed(self) -> bool:
        return self.used_refs != self.given


def closure(env: Environment, names: Iterable[str],
            references: Callable[[str], Iterable[str | None]] | None = None) -> set[str]:
    """The templates names need: themselves and every one they reference, transitively.

    A reference computed at run time could be any template, so then every template counts.
    """
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source = env.loader.get_source(env, name)[0] if env.loader else ""
        except TemplateNotFound:
            continue
        found = references(source) if references else meta.find_referenced_templates(env.parse(source))
        for ref in found:
            if ref is None:
                return seen | {n for n in env.list_templates() if n.endswith(TEMPLATE_SUFFIXES)}
            todo.append(ref)
    return seen


def _source_digest(env: Environment, name: str) -> str:
    try:
        source, filename, _ = env.loader.get_source(env, name) if env.loader else ("", None, None)
    except TemplateNotFound:
        return "missing"
    return hashlib.sha256(f"{filename}\0{source}".encode("utf-8", "surrogatepass")).hexdigest()
