"""Find release bundles under releases/ and validate them into `Release` objects.

Every problem in every file is collected; nothing is created from an invalid release.
"""

from __future__ import annotations

import difflib
import multiprocessing
import os
import re
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from itertools import repeat
from pathlib import Path, PurePosixPath
from typing import Any

from .cache import file_stamp
from .config import Config
from .config_file import load_config
from .errors import BuildFailed, SourceError, display_path
from .events import read_event
from .frontmatter import Node, split_document
from .lifecycle import LIFECYCLE_PHOTO_FIELDS, check_corrections, check_photo_lifecycle, check_withdrawal
from .markup import body_problems
from .model import Attachment, Contact, Photo, Release, Rights
from .paths import RELEASES_DIR, RESERVED_PATHS
from .text import CONTROL, LINE_BREAKS, decode_utf8, slugify

MAX_BODY_CHARS = 200_000
MAX_BRACKETS = 2_000  # Python-Markdown's link parsing is quadratic in unmatched '['

FIELDS = ("title", "date", "embargo", "updated", "subtitle", "summary", "dateline", "tags", "contact",
          "draft", "send", "photos", "attachments", "corrections", "withdrawn", "event")
PHOTO_FIELDS = ("file", "caption", "credit", "alt", "rights") + LIFECYCLE_PHOTO_FIELDS
ATTACHMENT_FIELDS = ("file", "title")

_NEEDS = {"alt": "an alt text describing the picture for blind readers", "credit": "a credit (the Fotonachweis)"}
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


Instant = datetime  # inside _Validator, `datetime` names its method

ParseCache = dict[str, tuple[object, "Release | None", list[SourceError]]]


def load_site(root: Path, cache: ParseCache | None = None) -> tuple[Config, list[Release]]:
    """Load pressekit.toml and every release; raise BuildFailed with every problem found.

    `cache` (source path -> (stamp, release, errors)) lets unchanged bundles skip parsing;
    it must belong to the same pressekit.toml, since validation depends on it.
    """
    config, errors = load_config(root)
    if config is None:
        raise BuildFailed(errors)
    releases, errors = load_releases(config, cache)
    if errors:
        raise BuildFailed(errors)
    return config, releases


def find_bundles(folder: Path) -> list[Path]:
    """Return every index.md under folder; a folder holding index.md is not searched deeper."""
    return [Path(p) for p in _bundle_paths(folder)]


def _bundle_paths(folder: Path, links: list[str] | None = None) -> list[str]:
    """find_bundles as strings: an archive has tens of thousands, and Path objects cost.

    Symlinked folders are not followed; their paths are added to `links` for the caller to report.
    """
    found: list[str] = []
    if not folder.is_dir():
        return []
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        with os.scandir(current) as scan:
            entries = list(scan)
        if current != str(folder) and any(e.name == "index.md" and e.is_file() for e in entries):
            found.append(current + "/index.md")
            continue
        visible = [e for e in entries if not e.name.startswith(".")]
        stack.extend(e.path for e in visible if e.is_dir(follow_symlinks=False))
        if links is not None:
            links.extend(e.path for e in visible if e.is_symlink() and e.is_dir())
    return sorted(found)


def link_problems(links: list[str], root: Path) -> list[SourceError]:
    """A symlinked folder under releases/ is never published: say so instead of skipping it."""
    site = root.resolve()
    problems = []
    for link in sorted(links):
        where = "outside the site" if not Path(link).resolve().is_relative_to(site) else "elsewhere in the site"
        problems.append(SourceError(display_path(Path(link), root), 0, f"a symlink to a folder {where}; "
                                    "releases must be real folders inside the site",
                                    "move or copy the folder into releases/ instead of linking it"))
    return problems


def load_releases(config: Config, cache: ParseCache | None = None) -> tuple[list[Release], list[SourceError]]:
    """Parse and validate every bundle; return the valid releases and every problem."""
    errors: list[SourceError] = []
    seen: dict[str, str] = {}
    root = str(config.root).rstrip("/") + "/"
    results: dict[str, tuple[Release | None, list[SourceError]]] = {}
    todo: list[tuple[str, tuple[int, int, int, int] | None]] = []
    links: list[str] = []
    for source in _bundle_paths(config.root / RELEASES_DIR, links):
        shown = source.removeprefix(root)
        release_id = os.path.basename(os.path.dirname(source))
        key = unicodedata.normalize("NFC", release_id).casefold()
        if key in seen:
            errors.append(SourceError(shown, 1, f"the release id '{release_id}' is used twice",
                                      f"{seen[key]} has the same folder name; ids must be unique"))
            continue
        seen[key] = shown
        stamp = _stamp(source)
        hit = cache.get(source) if cache is not None and stamp is not None else None
        if hit is not None and hit[0] == (stamp, _referenced_stamps(hit[1])):
            results[source] = hit[1], hit[2]
        else:
            results[source] = None, []  # keeps the place of this bundle in the order of sources
            todo.append((source, stamp))
    for (source, stamp), (release, problems) in zip(todo, _parse_all([s for s, _ in todo], config)):
        results[source] = release, problems
        if cache is not None and stamp is not None:
            cache[source] = ((stamp, _referenced_stamps(release)), release, problems)
    errors.extend(link_problems(links, config.root))
    releases = []
    for release, problems in results.values():
        errors.extend(problems)
        if release is not None:
            releases.append(release)
    return releases, errors


PARALLEL_PARSE = 400  # from this many changed bundles on, parse in worker processes


def _parse_all(sources: list[str], config: Config) -> list[tuple[Release | None, list[SourceError]]]:
    """load_release for every source, in worker processes when there are many (a first build of an archive)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(sources) < PARALLEL_PARSE or workers < 2:
        return [load_release(Path(s), config) for s in sources]
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(load_release, map(Path, sources), repeat(config), chunksize=100))


def _stamp(source: str) -> tuple[int, int, int, int] | None:
    """What must be unchanged for a cached parse to hold: index.md's size, mtime, inode, and its folder's mtime."""
    try:
        st, folder = os.stat(source), os.stat(os.path.dirname(source))
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino, folder.st_mtime_ns


def _referenced_stamps(release: object) -> tuple[object, ...]:
    """Stamps of the files a release names: a replaced or removed file invalidates its validation."""
    if not isinstance(release, Release):
        return ()
    return tuple(file_stamp(p.path) for p in release.photos) + tuple(file_stamp(a.path) for a in release.attachments)


def load_release(source: Path, config: Config) -> tuple[Release | None, list[SourceError]]:
    """Read one index.md into a Release, or None and the reasons."""
    shown = display_path(source, config.root)
    if source.is_symlink() and not source.resolve().is_relative_to(source.parent.resolve()):
        return None, [SourceError(shown, 1, "index.md is a link that leads outside the release folder",
                                  "copy the file into the release folder instead of linking it")]
    text, errors = decode_utf8(source.read_bytes(), shown)
    if text is None:
        return None, errors
    doc, errors = split_document(text, shown)
    if doc is None:
        return None, errors
    v = _Validator(shown, source.parent, config)
    v.check_id(source.parent.name)
    release = v.release(doc.fields, doc.body, doc.body_line)
    errors = errors + v.errors
    return (release if not errors else None), errors


class _Validator:
    def __init__(self, shown: str, folder: Path, config: Config):
        self.shown, self.folder, self.config = shown, folder, config
        self.errors: list[SourceError] = []

    def error(self, line: int, message: str, hint: str | None = None) -> None:
        self.errors.append(SourceError(self.shown, line, message, hint))

    def check_id(self, release_id: str) -> None:
        reserved = RESERVED_PATHS.get(release_id) or ("a year's archive" if release_id.isdigit() else None)
        if reserved:
            self.error(1, f"the release id '{release_id}' is a reserved output path ({reserved}); rename the folder")
        elif not _ID.fullmatch(release_id):
            self.error(1, f"the folder name '{release_id}' cannot be a release id",
                       "use lower-case letters, digits and hyphens, e.g. 2025-07-02-iso-zertifikat")

    def release(self, fields: dict[str, Node], body: str, body_line: int) -> Release | None:
        self.unknown_keys(fields, FIELDS, "")
        title = self.text(fields, "title", required=True, one_line=True)
        day = self.datetime(fields, "date", required=True)
        embargo = self.datetime(fields, "embargo")
        updated = self.datetime(fields, "updated")
        tags = self.tags(fields.get("tags"))
        contact = self.contact(fields.get("contact"))
        draft = self.boolean(fields, "draft")
        send = self.boolean(fields, "send") if "send" in fields else True
        photos = self.photos(fields.get("photos"), day[0] if day else None)
        attachments = self.attachments(fields.get("attachments"))
        corrections = check_corrections(self, fields.get("corrections"), day[0] if day else None)
        withdrawn = check_withdrawal(self, fields.get("withdrawn"), day[0] if day else None)
        event = read_event(fields.get("event"), self.error)
        self.check_body(body, body_line)
        text = {k: self.text(fields, k, one_line=k != "summary") for k in ("subtitle", "summary", "dateline")}
        if self.errors or day is None:
            return None
        return Release(
            id=self.folder.name, source=self.folder / "index.md", title=title, date=day[0],
            date_has_time=day[1], body=body, body_line=body_line, embargo=embargo and embargo[0],
            updated=updated and updated[0], tags=tags, contact=contact, draft=draft, send=send, photos=photos,
            attachments=attachments, corrections=corrections, withdrawn=withdrawn,
            event=event, **text,
        )

    # --- fields ---------------------------------------------------------

    def unknown_keys(self, fields: dict[str, Node], known: tuple[str, ...], where: str) -> None:
        for key, node in fields.items():
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                self.error(node.line, f"{where}unknown field '{key}'",
                           f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(known)}")

    def scalar(self, node: Node, name: str) -> str | None:
        if not isinstance(node.value, str):
            self.error(node.line, f"{name}: expected a single value, not a list or mapping")
            return None
        if m := CONTROL.search(node.value):
            self.error(node.line, f"{name}: contains the control character U+{ord(m.group()):04X}",
                       "remove invisible characters pasted from another program")
            return None
        return node.value

    def text(self, fields: dict[str, Node], name: str, required: bool = False, one_line: bool = False,
             where: str = "", line: int = 1) -> str:
        node = fields.get(name)
        if node is None or node.value in (None, ""):
            if required:
                self.error(node.line if node else line, f"{where}{name}: is missing",
                           f"every {'photo' if where else 'release'} needs {_NEEDS.get(name, 'a ' + name)}")
            return ""
        value = self.scalar(node, where + name)
        if value is None:
            return ""
        if one_line and LINE_BREAKS.search(value.strip()):
            self.error(node.line, f"{where}{name}: contains a line break; expected a single line")
            return ""
        return value.strip()

    def datetime(self, fields: dict[str, Node], name: str, required: bool = False, where: str = "",
                 line: int = 1) -> tuple[datetime, bool] | None:
        node = fields.get(name)
        if node is None or node.value in (None, ""):
            if required:
                self.error(node.line if node else line, f"{where}{name}: is missing",
                           "every release needs a date (YYYY-MM-DD)" if not where else "expected a date (YYYY-MM-DD)")
            return None
        raw = self.scalar(node, where + name)
        if raw is None:
            return None
        parsed = parse_datetime(raw.strip(), self.config.site.tz)
        if isinstance(parsed, str):
            self.error(node.line, f"{where}{name}: '{raw}' {parsed}",
                       "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00")
            return None
        return parsed

    def boolean(self, fields: dict[str, Node], name: str) -> bool:
        node = fields.get(name)
        if node is None:
            return False
        raw = self.scalar(node, name)
        if raw is None:
            return False
        if raw.strip().lower() not in ("true", "false"):
            self.error(node.line, f"{name}: '{raw}' is not true or false")
            return False
        return raw.strip().lower() == "true"

    def tags(self, node: Node | None) -> tuple[str, ...]:
        if node is None or node.value in (None, ""):
            return ()
        items = node.value if isinstance(node.value, list) else None
        if items is None:
            self.error(node.line, "tags: expected a list, like [Verwaltung, Verkehr]")
            return ()
        tags: list[str] = []
        for item in items:
            value = self.scalar(item, "tags")
            if value is None:
                continue
            value = value.strip()
            if not value or LINE_BREAKS.search(value) or not slugify(value):
                self.error(item.line, f"tags: '{value}' is not a usable tag", "a tag needs letters or digits")
            elif slugify(value) in (slugify(t) for t in tags):
                self.error(item.line, f"tags: '{value}' is given twice")
            else:
                tags.append(value)
        return tuple(tags)

    def contact(self, node: Node | None) -> Contact | None:
        if node is None or node.value in (None, ""):
            return self.config.contact(None)
        key = self.scalar(node, "contact")
        if key is None:
            return None
        if self.config.contact(key.strip()) is None:
            known = [c.key for c in self.config.contacts]
            close = difflib.get_close_matches(key, known, n=1)
            self.error(node.line, f"contact: '{key}' is not a contact in pressekit.toml",
                       f"did you mean '{close[0]}'?" if close else
                       f"known contacts: {', '.join(known) or 'none; add [contacts.<key>]'}")
            return None
        return self.config.contact(key.strip())

    def entries(self, node: Node | None, name: str, known: tuple[str, ...]) -> list[tuple[int, dict[str, Node], int]]:
        if node is None or node.value in (None, ""):
            return []
        if not isinstance(node.value, list):
            self.error(node.line, f"{name}: expected a list of entries starting with '- file: ...'")
            return []
        out = []
        for i, item in enumerate(node.value):
            if not isinstance(item.value, dict):
                self.error(item.line, f"{name}[{i}]: expected 'file: ...' and the other fields")
                continue
            self.unknown_keys(item.value, known, f"{name}[{i}]: ")
            out.append((i, item.value, item.line))
        return out

    def photos(self, node: Node | None, day: Instant | None) -> tuple[Photo, ...]:
        photos: list[Photo] = []
        stems: dict[str, str] = {}
        for i, fields, line in self.entries(node, "photos", PHOTO_FIELDS):
            where = f"photos[{i}]."
            path = self.file(fields, where, line)
            values = {k: self.text(fields, k, required=True, one_line=k != "caption", where=where, line=line)
                      for k in ("caption", "credit", "alt")}
            rights = self.rights(fields.get("rights"), where)
            lifecycle = check_photo_lifecycle(self, fields, where, line, day)
            if path is None or rights is None or not all(values.values()):
                continue
            stem = path.stem.lower()
            if stem in stems:
                self.error(line, f"{where}file: '{path.name}' has the same name as '{stems[stem]}' apart from the extension",
                           "photo variants are named after the file name; rename one")
                continue
            stems[stem] = path.name
            photos.append(Photo(file=path.name if path.parent == self.folder else path.relative_to(self.folder).as_posix(),
                                path=path, caption=values["caption"], credit=values["credit"], alt=values["alt"],
                                rights=rights, line=line, **lifecycle))
        return tuple(photos)

    def attachments(self, node: Node | None) -> tuple[Attachment, ...]:
        out = []
        for i, fields, line in self.entries(node, "attachments", ATTACHMENT_FIELDS):
            where = f"attachments[{i}]."
            path = self.file(fields, where, line)
            title = self.text(fields, "title", one_line=True, where=where, line=line)
            if path is not None:
                out.append(Attachment(path.relative_to(self.folder).as_posix(), path, title or path.name, line))
        return tuple(out)

    def rights(self, node: Node | None, where: str) -> Rights | None:
        if node is None or node.value in (None, ""):
            default = self.config.rights_for(None)
            if default is None:
                self.error(node.line if node else 1, f"{where}rights: no [rights.*] is configured in pressekit.toml")
            return default
        key = self.scalar(node, where + "rights")
        if key is None:
            return None
        if self.config.rights_for(key.strip()) is None:
            known = [r.key for r in self.config.rights]
            close = difflib.get_close_matches(key, known, n=1)
            self.error(node.line, f"{where}rights: '{key}' is not a rights entry in pressekit.toml",
                       f"did you mean '{close[0]}'?" if close else f"known rights: {', '.join(known) or 'none'}")
            return None
        return self.config.rights_for(key.strip())

    def file(self, fields: dict[str, Node], where: str, line: int) -> Path | None:
        node = fields.get("file")
        if node is None or node.value in (None, ""):
            self.error(node.line if node else line, f"{where}file: is missing", "name a file inside the release folder")
            return None
        raw = self.scalar(node, where + "file")
        if raw is None:
            return None
        return self.resolve(raw.strip(), node.line, where + "file")

    def resolve(self, raw: str, line: int, name: str) -> Path | None:
        pure = PurePosixPath(raw)
        if pure.is_absolute() or "\\" in raw or ".." in pure.parts or re.match(r"^[A-Za-z]:", raw) or "://" in raw:
            self.error(line, f"{name}: '{raw}' points outside the release folder",
                       "give a file name inside the release folder, e.g. foto.jpg")
            return None
        path = self.folder / pure
        try:
            real = path.resolve(strict=True)
        except (FileNotFoundError, OSError):
            names = [p.name for p in self.folder.iterdir() if p.name != "index.md"]
            close = difflib.get_close_matches(pure.name, names, n=1)
            self.error(line, f"{name}: '{raw}' does not exist in {self.folder.name}/",
                       f"did you mean '{close[0]}'?" if close else None)
            return None
        if not real.is_relative_to(self.folder.resolve()):
            self.error(line, f"{name}: '{raw}' is a link that leads outside the release folder",
                       "copy the file into the release folder instead of linking it")
            return None
        if not real.is_file():
            self.error(line, f"{name}: '{raw}' is not a file")
            return None
        return path

    def check_body(self, body: str, first_line: int) -> None:
        if len(body) > MAX_BODY_CHARS:
            self.error(first_line, f"the body has {len(body):,} characters; the limit is {MAX_BODY_CHARS:,}",
                       "split the text or link a PDF attachment")
        elif body.count("[") > MAX_BRACKETS:
            self.error(first_line, f"the body has {body.count('['):,} '[' characters; the limit is {MAX_BRACKETS:,}")
        else:
            for offset, message, hint in body_problems(body):
                self.error(first_line + offset, message, hint)
        for m in CONTROL.finditer(body):
            self.error(first_line + body.count("\n", 0, m.start()),
                       f"the body contains the control character U+{ord(m.group()):04X}",
                       "remove invisible characters pasted from another program")
            break


def parse_datetime(raw: str, tz: Any) -> tuple[datetime, bool] | str:
    """Parse YYYY-MM-DD (midnight in tz) or an ISO datetime with offset; a str is the reason it failed."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=tz), False
        except ValueError as exc:
            return f"is not a valid date ({exc})"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", raw):
        return "is not a date"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        return f"is not a valid date and time ({exc})"
    if value.tzinfo is None:
        return "has no time zone offset (add e.g. +01:00 or +02:00)"
    return value, True
