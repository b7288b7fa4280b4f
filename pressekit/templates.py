"""The Jinja environment: the site's templates over the default theme, strict and escaped."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from jinja2 import (ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound,
                    TemplatesNotFound, TemplateSyntaxError)
from jinja2.bccache import BytecodeCache, Bucket

from . import dates
from .cache import CacheWriteError, read_sealed, write_sealed
from .config import Config
from .errors import BuildFailed, PressekitError, SourceError
from .events import termin_line
from .paths import CACHE_DIR
from .sitepages import SiteLinks
from .theme import theme_dir

TEMPLATE_SUFFIXES = (".html", ".txt", ".xml")
NUMBER_WORDS = ("null", "ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
                "elf", "zwölf")


def autoescape(name: str | None) -> bool:
    """Escape every template except plain-text ones (e-mail bodies)."""
    return not (name or "").endswith(".txt")


class SealedBytecodeCache(BytecodeCache):
    """Compiled templates in the build cache, so a build that renders one release does not compile its
    templates again (a tenth of a second). Jinja checks an entry against the template's source; the seal
    drops a damaged one, which is compiled again. An entry that cannot be written is simply not kept."""

    def __init__(self, folder: Path):
        self.folder = folder

    def load_bytecode(self, bucket: Bucket) -> None:
        payload = read_sealed(self.folder / f"{bucket.key}.jinja")
        if payload is not None:
            bucket.bytecode_from_string(payload)

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            write_sealed(self.folder / f"{bucket.key}.jinja", bucket.bytecode_to_string())
        except CacheWriteError:
            pass


def make_environment(config: Config, links: SiteLinks = SiteLinks(), compiled: bool = False) -> Environment:
    """Return the Jinja environment for a site: its templates/ first, then the default theme.

    `links` are the pages every page links to (navigation and footer). `compiled`: keep compiled
    templates in the build cache (a build does; `check` writes nothing).
    """
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(config.root / "templates"), FileSystemLoader(theme_dir())]),
        autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, auto_reload=False,
        bytecode_cache=SealedBytecodeCache(config.root / CACHE_DIR / "templates") if compiled else None,
    )
    tz = config.site.tz

    def local(value: datetime) -> datetime:
        return value.astimezone(tz)

    env.filters["local"] = local
    env.filters["datum"] = lambda v: dates.day(v, tz)
    env.filters["datum_lang"] = lambda v: dates.day_long(v, tz)
    env.filters["uhrzeit"] = lambda v: dates.clock(v, tz)
    env.filters["sperrfrist"] = lambda v: dates.lift_time(v, tz)
    env.filters["datum_zeit_lang"] = lambda v: dates.time_long(v, tz)
    env.filters["iso"] = lambda v: local(v).isoformat()
    env.filters["zahlwort"] = number_word
    env.filters["termin"] = lambda event: termin_line(event, tz)
    env.filters["filesize"] = filesize
    env.globals["site"] = config.site
    env.globals["texts"] = config.texts
    env.globals["boilerplate"] = config.boilerplate
    env.globals["subscriptions"] = config.subscriptions
    env.globals["links"] = links
    env.globals["site_image"] = config.site_image_url
    return env


def number_word(n: int) -> str:
    """German number word for 1..12 ("ein", "zwei", ... "zwölf"), digits from 13 on."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def filesize(size: int) -> str:
    """Human file size in German notation: '312 KB', '2,4 MB'."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


# --- template errors as the user's errors ----------------------------------------------------------

def template_error(exc: BaseException, root: Path, rendering: str) -> SourceError | None:
    """Return the SourceError of an exception raised in a template, or None when no template raised it.

    The place is the innermost template line in the traceback (Jinja maps its frames to template lines);
    syntax errors carry their own. `rendering` names what was being rendered, for the message.
    """
    while_ = f" (while rendering {rendering})" if rendering else ""
    if isinstance(exc, TemplateSyntaxError):  # also a filter or test that does not exist
        where = _shown(exc.filename, root) if exc.filename else exc.name or "template"
        return SourceError(where, exc.lineno, f"{exc.message}{while_}")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_template(f.filename)]
    if not frames:
        return None
    frame = frames[-1]
    return SourceError(_shown(frame.filename, root), frame.lineno or 1, f"{_describe(exc)}{while_}")


@contextmanager
def reporting_template_errors(root: Path, rendering: str) -> Iterator[None]:
    """Turn an exception raised in a template into BuildFailed with its template line; others pass."""
    try:
        yield
    except (PressekitError, KeyboardInterrupt):
        raise
    except Exception as exc:
        error = template_error(exc, root, rendering)
        if error is None:
            raise
        raise BuildFailed([error]) from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TemplatesNotFound):
        return f"the template {' or '.join(repr(n) for n in exc.templates)} does not exist"
    if isinstance(exc, TemplateNotFound):
        return f"the template '{exc.name}' does not exist"
    if isinstance(exc, TemplateError):
        return exc.message or type(exc).__name__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _is_template(filename: str) -> bool:
    return filename.endswith(TEMPLATE_SUFFIXES) and not filename.endswith(".py")


def _shown(filename: str, root: Path) -> str:
    """A template's path relative to the site, or the theme's templates as theme/<name>."""
    path = Path(filename)
    if path.is_relative_to(root.resolve()):
        return path.relative_to(root.resolve()).as_posix()
    if path.is_relative_to(theme_dir().resolve()):
        return "theme/" + path.relative_to(theme_dir().resolve()).as_posix()
    return filename
