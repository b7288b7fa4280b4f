"""Press dates: the `event:` of a release, the `/termine/` page, `termine.ics` and each release's `termin.ics`.

A calendar client applies a changed event only when its SEQUENCE is higher, and removes one only
when it sees STATUS:CANCELLED. Both need to know what was published before, so the sequence of
every event ever published is kept in `.pressekit/termine.json` (the calendar's history, like the
send ledger: keep it). A build with the same sources and the same history gives the same bytes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path

from typing import TYPE_CHECKING

from .config import Config
from .dates import weekday_time_long
from .frontmatter import Node
from .model import Event, Release
from .output import OutputFile
from .paths import EVENT_HISTORY

if TYPE_CHECKING:
    from icalendar import Event as VEvent

# babel and icalendar are imported where they are used: reading a release must stay cheap.

EVENT_FIELDS = ("start", "end", "location", "address", "accreditation", "cancelled")
CALENDAR_PATH = "termine.ics"
EVENT_FILE = "termin.ics"
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})")

Error = Callable[[int, str, "str | None"], None]


# --- reading the front matter --------------------------------------------------------------------

def read_event(node: Node | None, error: Error) -> Event | None:
    """The `event:` mapping of a release as an Event; problems go to `error(line, message, hint)`."""
    if node is None or node.value in (None, ""):
        return None
    if not isinstance(node.value, dict):
        error(node.line, "event: expected the fields start, location and optionally end, address, accreditation",
              "event:\n  start: 2025-04-09T11:30:00+02:00\n  location: Kreishaus, Sitzungssaal")
        return None
    fields: dict[str, Node] = node.value
    for key, child in fields.items():
        if key not in EVENT_FIELDS:
            close = difflib.get_close_matches(key, EVENT_FIELDS, n=1, cutoff=0.6)
            error(child.line, f"event.{key}: unknown field",
                  f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(EVENT_FIELDS)}")
    text = {k: _text(fields.get(k), k, error) for k in ("location", "address", "accreditation")}
    start = _moment(fields.get("start"), "start", error)
    end = _moment(fields.get("end"), "end", error)
    cancelled = _flag(fields.get("cancelled"), error)
    if "start" not in fields:
        error(node.line, "event.start: is missing", "the date and time with offset, e.g. 2025-04-09T11:30:00+02:00")
    if not text["location"]:
        error(fields["location"].line if "location" in fields else node.line, "event.location: is missing",
              "where the date takes place, e.g. Kreishaus Auenfeld, Sitzungssaal")
    if start and end and end <= start:
        error(fields["end"].line, "event.end: is not after event.start", None)
        return None
    if start is None or not text["location"]:
        return None
    return Event(start=start, end=end, line=node.line, cancelled=cancelled, **text)


def _scalar(node: Node, name: str, error: Error) -> str | None:
    if not isinstance(node.value, str):
        error(node.line, f"event.{name}: expected a single value, not a list or mapping", None)
        return None
    return node.value.strip()


def _text(node: Node | None, name: str, error: Error) -> str:
    value = _scalar(node, name, error) if node is not None and node.value not in (None, "") else None
    if value and ("\n" in value or "\r" in value):
        error(node.line if node else 1, f"event.{name}: contains a line break; expected a single line", None)
        return ""
    return value or ""


def _moment(node: Node | None, name: str, error: Error) -> datetime | None:
    if node is None or node.value in (None, ""):
        return None
    raw = _scalar(node, name, error)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw) if _DATETIME.fullmatch(raw) else None
    except ValueError:
        value = None
    if value is None:
        error(node.line, f"event.{name}: '{raw}' is not a date and time with offset",
              "expected YYYY-MM-DDTHH:MM:SS+02:00, e.g. 2025-04-09T11:30:00+02:00")
    return value


def _flag(node: Node | None, error: Error) -> bool:
    if node is None or node.value in (None, ""):
        return False
    raw = _scalar(node, "cancelled", error)
    if raw is None or raw.lower() not in ("true", "false"):
        error(node.line, f"event.cancelled: '{raw}' is not true or false", None)
        return False
    return raw.lower() == "true"


# --- what is shown -------------------------------------------------------------------------------

def termin_line(event: Event, tz: tzinfo) -> str:
    """'Mittwoch, 9. April 2025, 11:30 Uhr, Kreishaus Auenfeld, Sitzungssaal' (the e-mail's Termin line)."""
    return f"{weekday_time_long(event.start, tz)}, {event.location}"


@dataclass(frozen=True)
class Entry:
    """One event of the calendar as published: its release's texts, its sequence, cancelled or not."""

    uid: str
    release_id: str
    title: str
    url: str
    start: datetime
    end: datetime | None
    location: str
    address: str
    accreditation: str
    summary: str
    stamp: datetime           # DTSTAMP and LAST-MODIFIED: the release's last change
    cancelled: bool
    sequence: int = 0

    def digest(self) -> str:
        """What a calendar shows of the event: a change of it raises the sequence."""
        data = [self.title, self.url, self.start.isoformat(), self.end.isoformat() if self.end else "", self.location,
                self.address, self.accreditation, self.summary, self.cancelled]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()


def entry_of(release: Release, event: Event, summary: str, config: Config) -> Entry:
    """The calendar entry of a public release's event (sequence 0, before the history is applied)."""
    return Entry(uid=f"{release.id}@{config.site.domain}", release_id=release.id, title=release.title,
                 url=config.release_url(release.id), start=event.start, end=event.end, location=event.location,
                 address=event.address, accreditation=event.accreditation, summary=summary,
                 stamp=release.updated or release.published, cancelled=event.cancelled)


# --- the history of published events ------------------------------------------------------------

History = dict[str, dict[str, object]]  # uid -> {"digest", "sequence", "entry" (for a withdrawn release)}


def load_history(root: Path) -> History:
    """The sequences of the events published so far (empty for a new site)."""
    try:
        data = json.loads((root / EVENT_HISTORY).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_history(root: Path, history: History) -> None:
    """Write the history atomically (after output/ was written)."""
    path = root / EVENT_HISTORY
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(json.dumps(history, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    os.replace(temp, path)


def apply_history(current: Sequence[Entry], history: History) -> tuple[list[Entry], History]:
    """Every entry with its sequence, withdrawn releases' events as cancelled; and the history to keep.

    A sequence rises by one whenever what the calendar shows changes, including a withdrawal.
    """
    entries: list[Entry] = []
    kept: History = {}
    for entry in current:
        old = history.get(entry.uid)
        sequence = int(old["sequence"]) if old else 0  # type: ignore[call-overload]
        if old and old["digest"] != entry.digest():
            sequence += 1
        entries.append(_with(entry, sequence=sequence))
        kept[entry.uid] = {"digest": entry.digest(), "sequence": sequence, "entry": _dump(entry)}
    for uid, old in sorted(history.items()):
        if uid in kept:
            continue
        gone = _with(_load(old["entry"]), cancelled=True)  # type: ignore[arg-type]
        sequence = int(old["sequence"]) + (old["digest"] != gone.digest())  # type: ignore[call-overload]
        entries.append(_with(gone, sequence=sequence))
        kept[uid] = {"digest": gone.digest(), "sequence": sequence, "entry": _dump(gone)}
    return sorted(entries, key=lambda e: (e.start, e.uid)), kept


def _with(entry: Entry, **changes: object) -> Entry:
    return Entry(**{**entry.__dict__, **changes})


def _dump(entry: Entry) -> dict[str, object]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in entry.__dict__.items()}


def _load(data: Mapping[str, object]) -> Entry:
    times = ("start", "end", "stamp")
    return Entry(**{k: (datetime.fromisoformat(v) if k in times and isinstance(v, str) else v)  # type: ignore[arg-type]
                    for k, v in data.items()})


# --- iCalendar ----------------------------------------------------------------------------------

def calendar_file(relpath: str, entries: Sequence[Entry], config: Config, name: str) -> OutputFile:
    """An RFC 5545 calendar of these entries with the site's VTIMEZONE."""
    from icalendar import Calendar, Timezone

    cal = Calendar()
    cal.add("prodid", f"-//pressekit//{config.site.organisation}//DE")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", config.site.timezone)
    if entries:
        first = date(min(e.start for e in entries).astimezone(config.site.tz).year, 1, 1)  # stable within a year
        cal.add_component(Timezone.from_tzid(config.site.timezone, first_date=first))
    for entry in entries:
        cal.add_component(_vevent(entry, config.site.tz))
    return OutputFile(relpath, data=cal.to_ical())


def _vevent(entry: Entry, tz: tzinfo) -> VEvent:
    from icalendar import Event as VEvent

    event = VEvent()
    event.add("uid", entry.uid)
    event.add("dtstamp", entry.stamp.astimezone(timezone.utc))
    event.add("last-modified", entry.stamp.astimezone(timezone.utc))
    event.add("sequence", entry.sequence)
    event.add("dtstart", entry.start.astimezone(tz))
    if entry.end:
        event.add("dtend", entry.end.astimezone(tz))
    event.add("summary", ("Abgesagt: " if entry.cancelled else "") + entry.title)
    event.add("location", ", ".join(p for p in (entry.location, entry.address) if p))
    lines = [entry.summary, f"Akkreditierung: {entry.accreditation}" if entry.accreditation else "",
             f"Pressemitteilung: {entry.url}"]
    event.add("description", "\n\n".join(line for line in lines if line))
    event.add("url", entry.url)
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


# --- JSON-LD ------------------------------------------------------------------------------------

def event_json_ld(release: Release, event: Event, config: Config) -> str:
    """schema.org Event of a release's press date, safe inside <script>."""
    tz = config.site.tz
    data: dict[str, object] = {
        "@context": "https://schema.org", "@type": "Event", "name": release.title,
        "url": config.release_url(release.id),
        "startDate": event.start.astimezone(tz).isoformat(),
        "eventStatus": "https://schema.org/Event" + ("Cancelled" if event.cancelled else "Scheduled"),
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "location": {"@type": "Place", "name": event.location,
                     **({"address": event.address} if event.address else {})},
        "organizer": {"@type": "GovernmentOrganization", "name": config.site.organisation,
                      "url": config.site.base_url},
    }
    if event.end:
        data["endDate"] = event.end.astimezone(tz).isoformat()
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
