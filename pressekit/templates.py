"""The Jinja environment: the site's templates over the default theme, strict and escaped."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_datetime
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from .config import Config
from .events import termin_line
from .model import lift_time
from .sitepages import SiteLinks
from .theme import theme_dir

NUMBER_WORDS = ("null", "ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
                "elf", "zwölf")


def autoescape(name: str | None) -> bool:
    """Escape every template except plain-text ones (e-mail bodies)."""
    return not (name or "").endswith(".txt")


def make_environment(config: Config, links: SiteLinks = SiteLinks()) -> Environment:
    """Return the Jinja environment for a site: its templates/ first, then the default theme.

    `links` are the pages every page links to (navigation and footer).
    """
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(config.root / "templates"), FileSystemLoader(theme_dir())]),
        autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, auto_reload=False,
    )
    tz = config.site.tz

    def local(value: datetime) -> datetime:
        return value.astimezone(tz)

    env.filters["local"] = local
    env.filters["datum"] = lambda v: local(v).strftime("%d.%m.%Y")
    env.filters["datum_lang"] = lambda v: format_date(local(v), "d. MMMM y", locale="de_DE")
    env.filters["uhrzeit"] = lambda v: local(v).strftime("%H:%M")
    env.filters["sperrfrist"] = lambda v: lift_time(v, tz)
    env.filters["datum_zeit_lang"] = lambda v: format_datetime(local(v), "d. MMMM y, HH:mm 'Uhr'", locale="de_DE")
    env.filters["iso"] = lambda v: local(v).isoformat()
    env.filters["zahlwort"] = number_word
    env.filters["termin"] = lambda event: termin_line(event, tz)
    env.filters["filesize"] = filesize
    env.globals["site"] = config.site
    env.globals["texts"] = config.texts
    env.globals["boilerplate"] = config.boilerplate
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
