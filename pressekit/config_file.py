"""Reading `pressekit.toml` into a frozen `Config`: unknown keys and wrong types are errors with a line.

Each table is checked against the settings of its dataclass (`schema.keys`), then the rules between keys.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import (
    DEFAULT_VARIANTS, Boilerplate, Config, Dkim, Email, Feeds, Send, Site, Smtp, Subscriptions, Texts, VariantSpec,
)
from .errors import SourceError
from .model import Contact, Rights
from .paths import CONFIG_NAME
from .schema import keys
from .text import LINE_BREAKS, NOT_IN_LINE, decode_utf8


# --- reading -----------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


class _Lines:
    """Finds the line of a table or key in the TOML text (tomllib keeps no positions)."""

    def __init__(self, text: str):
        self.where: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), 1):
            if m := _HEADER.match(line):
                table = tuple(p.strip().strip("\"'") for p in m.group(1).split("."))
                self.where.setdefault(table, number)
            elif m := _KEY.match(line):
                key = tuple(p.strip().strip("\"'") for p in m.group(1).split("."))
                self.where.setdefault(table + key, number)

    def line(self, *path: str) -> int:
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return 1


_TYPES: dict[type, str] = {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}


class _Reader:
    def __init__(self, path: str, lines: _Lines):
        self.path, self.lines, self.errors = path, lines, []  # type: ignore[var-annotated]

    def error(self, where: tuple[str, ...], message: str, hint: str | None = None) -> None:
        self.errors.append(SourceError(self.path, self.lines.line(*where), message, hint))

    def table(self, data: dict[str, Any], where: tuple[str, ...], fields: dict[str, tuple[type, Any]],
              required: tuple[str, ...] = (), paragraphs: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Check one table against `fields` (name -> (type, default)); return the values read.

        Strings are single lines, except the keys in `paragraphs` (texts split into paragraphs at line breaks).
        """
        name = ".".join(where)
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                self.error(where + (key,), f"[{name}] has an unknown key '{key}'",
                           f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(fields)}")
                continue
            kind = fields[key][0]
            ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value, ok = float(value), True
            if not ok:
                self.error(where + (key,), f"[{name}] {key} must be {_TYPES[kind]}, not {value!r}")
                continue
            problem = text_problem(value, key in paragraphs) if isinstance(value, str) else None
            if problem is not None:
                self.error(where + (key,), f"[{name}] {key}: {problem[0]}", problem[1])
                continue
            out[key] = value
        for key in required:
            if key not in data:
                self.error(where, f"[{name}] is missing the required key '{key}'")
        return {k: out.get(k, default) for k, (_, default) in fields.items()}

    def read(self, cls: type, data: dict[str, Any], where: tuple[str, ...]) -> dict[str, Any]:
        """Check one table against the settings of dataclass `cls`; return its field values (defaults filled in)."""
        settings = keys(cls)
        values = self.table(data, where, {k.toml: (k.kind, k.default) for k in settings},
                            required=tuple(k.toml for k in settings if k.required),
                            paragraphs=frozenset(k.toml for k in settings if k.paragraphs))
        return {k.field: values[k.toml] for k in settings}



def text_problem(value: str, paragraphs: bool = False) -> tuple[str, str | None] | None:
    """Return (problem, hint) when a config string holds a line break or a control character, else None.

    With `paragraphs` plain line breaks ("\n", also written as CRLF) are allowed: they separate paragraphs.
    """
    if paragraphs:
        value = value.replace("\r\n", "").replace("\n", "")
    if LINE_BREAKS.search(value):
        if paragraphs:
            return "contains a line break other than a plain new line", "separate paragraphs with an empty line"
        return "contains a line break; a single line is expected", None
    if m := NOT_IN_LINE.search(value):
        return (f"contains the control character U+{ord(m.group()):04X}",
                "remove invisible characters pasted from another program")
    return None


def load_config(root: Path) -> tuple[Config | None, list[SourceError]]:
    """Read `root/pressekit.toml`; return the config (None when unusable) and every problem."""
    path = root / CONFIG_NAME
    shown = CONFIG_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [SourceError(shown, 1, f"no {CONFIG_NAME} here", "run 'pressekit init' to create a site")]
    text, errors = decode_utf8(raw, shown)
    if text is None:
        return None, errors
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        return None, [SourceError(shown, int(m.group(1)) if m else 1, f"not valid TOML: {exc}")]
    return parse_config(root, data, _Lines(text), shown)


def parse_config(root: Path, data: dict[str, Any], lines: _Lines, shown: str) -> tuple[Config | None, list[SourceError]]:
    r = _Reader(shown, lines)
    sections = {"site", "texts", "boilerplate", "contacts", "rights", "photos", "feeds", "email", "send", "smtp",
                "subscriptions", "dkim"}
    for key in data:
        if key not in sections:
            close = difflib.get_close_matches(key, sorted(sections), n=1)
            r.error((key,), f"unknown section [{key}]", f"did you mean [{close[0]}]?" if close else None)
    for key in sections - {"contacts", "rights", "photos"}:
        if key in data and not isinstance(data[key], dict):
            r.error((key,), f"[{key}] must be a table")
            data = {**data, key: {}}

    site = r.read(Site, data.get("site", {}), ("site",))
    if "site" not in data:
        r.error(("site",), "the [site] table is missing", "it needs title, organisation and base_url")
    if site["base_url"] and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", site["base_url"]):
        r.error(("site", "base_url"), f"[site] base_url must be an http(s) URL, not {site['base_url']!r}")
    elif site["base_url"] and not site["base_url"].endswith("/"):
        site["base_url"] += "/"
    try:
        ZoneInfo(site["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        r.error(("site", "timezone"), f"[site] timezone {site['timezone']!r} is not a known time zone",
                "use an IANA name such as 'Europe/Berlin'")
        site["timezone"] = "UTC"
    if site["image"] and not _site_file(root, site["image"]):
        r.error(("site", "image"), f"[site] image {site['image']!r} is not a JPEG or PNG file in the site folder",
                "give a path relative to pressekit.toml, e.g. \"teilen.png\" (at least 1200 × 630 pixels)")
    if site["per_page"] < 1:
        r.error(("site", "per_page"), "[site] per_page must be at least 1")
        site["per_page"] = 20

    texts = r.read(Texts, data.get("texts", {}), ("texts",))
    boiler = r.read(Boilerplate, data.get("boilerplate", {}), ("boilerplate",))
    contacts = tuple(Contact(key, **r.read(Contact, value, ("contacts", key)))
                     for key, value in _named_tables(r, data, "contacts"))
    rights = tuple(Rights(key, **r.read(Rights, value, ("rights", key))) for key, value in _named_tables(r, data, "rights"))
    variants = _read_variants(r, data.get("photos", {}))
    feeds = r.read(Feeds, data.get("feeds", {}), ("feeds",))
    if feeds["items"] < 1:
        r.error(("feeds", "items"), "[feeds] items must be at least 1")
        feeds["items"] = 50
    email = r.read(Email, data.get("email", {}), ("email",))
    if email["layout"] not in ("presse-service", "ots"):
        r.error(("email", "layout"), f"[email] layout must be 'presse-service' or 'ots', not {email['layout']!r}")
    send = r.read(Send, data.get("send", {}), ("send",))
    if send["unsubscribe_url"] and not send["unsubscribe_url"].startswith("https://"):
        r.error(("send", "unsubscribe_url"), "[send] unsubscribe_url must be an https:// URL")
    if send["unsubscribe_mailto"] and not send["unsubscribe_mailto"].startswith("mailto:"):
        r.error(("send", "unsubscribe_mailto"), "[send] unsubscribe_mailto must start with 'mailto:'")
    smtp_data = dict(data.get("smtp", {}))
    if "password" in smtp_data:
        r.error(("smtp", "password"), "[smtp] password must not be in the file",
                "put it in an environment variable and name that variable in password_env")
        smtp_data.pop("password")
    smtp = r.read(Smtp, smtp_data, ("smtp",))
    subscriptions = _read_subscriptions(r, data.get("subscriptions", {}))
    dkim = _read_dkim(r, data)
    if r.errors:
        return None, r.errors
    config = Config(
        root=root, site=Site(**site), texts=Texts(**texts), boilerplate=Boilerplate(**boiler),
        contacts=contacts, rights=rights, variants=variants, feeds=Feeds(**feeds), email=Email(**email),
        send=Send(**send), smtp=Smtp(**smtp), subscriptions=subscriptions, dkim=dkim,
    )
    return config, []


def _read_subscriptions(r: _Reader, data: dict[str, Any]) -> Subscriptions:
    defaults = Subscriptions()
    values = r.read(Subscriptions, data, ("subscriptions",))
    if values["url"] and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", values["url"]):
        r.error(("subscriptions", "url"), f"[subscriptions] url must be an http(s) URL, not {values['url']!r}")
    elif values["url"] and not values["url"].endswith("/"):
        values["url"] += "/"
    for name in ("confirm_hours", "keep_ip_days", "mails_per_day", "signups_per_hour"):
        if values[name] < 1:
            r.error(("subscriptions", name), f"[subscriptions] {name} must be at least 1")
            values[name] = getattr(defaults, name)
    return Subscriptions(**values)


def _read_dkim(r: _Reader, data: dict[str, Any]) -> Dkim:
    if "dkim" not in data:
        return Dkim()
    d = r.read(Dkim, data["dkim"], ("dkim",))
    if bool(d["key_file"]) == bool(d["key_env"]):
        r.error(("dkim",), "[dkim] needs exactly one of key_file and key_env",
                "key_file: a key outside the site, readable only by you; key_env: the name of a variable holding it")
    if d["selector"] and not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", d["selector"]):
        r.error(("dkim", "selector"), f"[dkim] selector {d['selector']!r} is not a DNS label such as 'presse2026'")
    return Dkim(**d, line=r.lines.line("dkim"))


def _site_file(root: Path, name: str) -> bool:
    """True when name is a JPEG or PNG file inside the site folder."""
    path = root / name
    try:
        inside = path.resolve(strict=True).is_relative_to(root.resolve())
    except OSError:
        return False
    return inside and path.is_file() and path.suffix.lower() in (".jpg", ".jpeg", ".png")


def _named_tables(r: _Reader, data: dict[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
    tables = data.get(section, {})
    if not isinstance(tables, dict):
        r.error((section,), f"[{section}] must be a table of named tables, like [{section}.name]")
        return []
    out = []
    for key, value in tables.items():
        if not isinstance(value, dict):
            r.error((section, key), f"[{section}] {key} must be a table, like [{section}.{key}]")
        elif not re.fullmatch(r"[a-z0-9_-]+", key):
            r.error((section, key), f"[{section}.{key}]: a key may hold only a-z, 0-9, '-' and '_'")
        else:
            out.append((key, value))
    return out


def _read_variants(r: _Reader, photos: Any) -> tuple[VariantSpec, ...]:
    if not isinstance(photos, dict):
        r.error(("photos",), "[photos] must be a table")
        return DEFAULT_VARIANTS
    r.table({k: v for k, v in photos.items() if k != "variants"}, ("photos",), {"variants": (list, [])})
    if "variants" not in photos:
        return DEFAULT_VARIANTS
    if not isinstance(photos["variants"], list) or not photos["variants"]:
        r.error(("photos", "variants"), "[photos] variants must be a non-empty list of tables")
        return DEFAULT_VARIANTS
    out: list[VariantSpec] = []
    for i, item in enumerate(photos["variants"]):
        if not isinstance(item, dict):
            r.error(("photos", "variants"), f"[photos] variants[{i}] must be a table like {{ name = \"web\", width = 1200 }}")
            continue
        v = r.read(VariantSpec, item, ("photos", "variants"))
        if v["name"] and not re.fullmatch(r"[a-z0-9_-]+", v["name"]):
            r.error(("photos", "variants"), f"[photos] variants[{i}].name may hold only a-z, 0-9, '-' and '_'")
        if "width" in item and not 16 <= v["width"] <= 10000:
            r.error(("photos", "variants"), f"[photos] variants[{i}].width must be between 16 and 10000")
        if v["credit"] not in ("burn", "metadata"):
            r.error(("photos", "variants"), f"[photos] variants[{i}].credit must be 'burn' or 'metadata'")
        quality = v["quality"] or (92 if v["credit"] == "metadata" else 85)
        if not 1 <= quality <= 100:
            r.error(("photos", "variants"), f"[photos] variants[{i}].quality must be between 1 and 100")
        out.append(VariantSpec(v["name"], v["width"], v["credit"], quality))
    names = [v.name for v in out]
    for name in {n for n in names if names.count(n) > 1}:
        r.error(("photos", "variants"), f"[photos] variant name '{name}' is used twice")
    return tuple(out)
