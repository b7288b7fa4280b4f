"""The front matter of a release, field by field: every problem with its line, nothing made from an invalid one."""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .config import Config
from .errors import SourceError
from .events import read_event
from .frontmatter import Node
from .lifecycle import LIFECYCLE_PHOTO_FIELDS, check_corrections, check_photo_lifecycle, check_withdrawal
from .markup import body_problems
from .model import Attachment, Contact, Photo, Release, Rights
from .paths import RESERVED_PATHS
from .text import CONTROL, LINE_BREAKS, slugify

MAX_BODY_CHARS = 200_000
MAX_BRACKETS = 2_000  # Python-Markdown's link parsing is quadratic in unmatched '['

FIELDS = ("title", "date", "embargo", "updated", "subtitle", "summary", "dateline", "tags", "contact",
          "draft", "send", "photos", "attachments", "corrections", "withdrawn", "event")
PHOTO_FIELDS = ("file", "caption", "credit", "alt", "rights") + LIFECYCLE_PHOTO_FIELDS
ATTACHMENT_FIELDS = ("file", "title")

_NEEDS = {"alt": "an alt text describing the picture for blind readers", "credit": "a credit (the Fotonachweis)"}
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


Instant = datetime  # inside ReleaseValidator, `datetime` names its method

class ReleaseValidator:
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
