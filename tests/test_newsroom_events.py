"""Press dates: `event:` in a release, /termine/, termine.ics (stable UID, SEQUENCE raised on change,
CANCELLED when withdrawn), the release's termin.ics, its JSON-LD Event and the e-mail's Termin line;
and incremental builds over pages and events equal clean ones."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from lxml import html

from pressekit.build import build_site
from pressekit.cli import main
from sitekit import write_release, write_site

NOW = "2025-04-02T12:00:00+02:00"
KREISTAG = """\
---
title: Kreistag berät über Radwege
date: 2025-04-01
event:
  start: 2025-04-09T11:30:00+02:00
  end: 2025-04-09T13:00:00+02:00
  location: Kreishaus Auenfeld, Sitzungssaal
  address: Am Auenpark 1, 12345 Auenfeld
  accreditation: bis 8. April an presse@beispielheim.example
---
Der Kreistag tagt öffentlich.
"""
MESSE = """\
---
title: Ausbildungsmesse abgesagt
date: 2025-03-20
event:
  start: 2025-04-20T10:00:00+02:00
  location: Berufskolleg Auenfeld
  cancelled: true
---
Die Messe fällt aus.
"""
EMPFANG = """\
---
title: Neujahrsempfang des Landrats
date: 2025-01-02
event:
  start: 2025-01-10T18:00:00+01:00
  location: Kreishaus, Foyer
---
Der Landrat lädt ein.
"""


def build(root: Path, now: str = NOW) -> str:
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", now])
    assert result.exit_code == 0, result.output
    return result.output


def event_site(root: Path) -> Path:
    return write_site(root, {"2025-04-01-kreistag": KREISTAG, "2025-03-20-messe": MESSE, "2025-01-02-empfang": EMPFANG})


def vevents(path: Path) -> dict[str, dict[str, object]]:
    calendar = Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): {"sequence": int(e["SEQUENCE"]), "status": str(e["STATUS"]), "start": e.decoded("DTSTART"),
                            "summary": str(e["SUMMARY"]), "location": str(e["LOCATION"])}
            for e in calendar.walk("VEVENT")}


def test_termine_page_and_calendar_goldens(tmp_path: Path, golden) -> None:
    root = event_site(tmp_path / "site")
    build(root)
    golden("newsroom/termine.html", (root / "output" / "termine" / "index.html").read_bytes())
    golden("newsroom/termine.ics", (root / "output" / "termine.ics").read_bytes())
    calendar = Calendar.from_ical((root / "output" / "termine.ics").read_bytes())
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_each_event_is_in_the_calendar_with_its_status(tmp_path: Path) -> None:
    root = event_site(tmp_path / "site")
    build(root)
    events = vevents(root / "output" / "termine.ics")
    kreistag = events["2025-04-01-kreistag@presse.beispielheim.example"]
    assert kreistag == {"sequence": 0, "status": "CONFIRMED", "summary": "Kreistag berät über Radwege",
                        "start": datetime(2025, 4, 9, 11, 30, tzinfo=kreistag["start"].tzinfo),  # type: ignore[union-attr]
                        "location": "Kreishaus Auenfeld, Sitzungssaal, Am Auenpark 1, 12345 Auenfeld"}
    assert events["2025-03-20-messe@presse.beispielheim.example"]["status"] == "CANCELLED"
    single = vevents(root / "output" / "2025-04-01-kreistag" / "termin.ics")
    assert single == {"2025-04-01-kreistag@presse.beispielheim.example": kreistag}


def test_an_edit_raises_the_sequence_and_a_withdrawal_cancels(tmp_path: Path) -> None:
    root = event_site(tmp_path / "site")
    build(root)
    uid = "2025-04-01-kreistag@presse.beispielheim.example"
    assert vevents(root / "output" / "termine.ics")[uid]["sequence"] == 0
    build(root, "2025-04-03T12:00:00+02:00")  # no change: the same sequence
    assert vevents(root / "output" / "termine.ics")[uid]["sequence"] == 0
    write_release(root, "2025-04-01-kreistag", KREISTAG.replace("11:30", "14:00").replace("T13:00", "T15:00"))
    build(root)
    moved = vevents(root / "output" / "termine.ics")[uid]
    assert moved["sequence"] == 1 and moved["start"].hour == 14  # type: ignore[union-attr]
    write_release(root, "2025-04-01-kreistag", KREISTAG.replace("date: 2025-04-01", "date: 2025-04-01\ndraft: true"))
    build(root)
    withdrawn = vevents(root / "output" / "termine.ics")[uid]
    assert (withdrawn["sequence"], withdrawn["status"]) == (2, "CANCELLED")
    assert not (root / "output" / "2025-04-01-kreistag").exists()
    assert "Kreistag" not in (root / "output" / "termine" / "index.html").read_text()
    build(root, "2025-04-03T12:00:00+02:00")
    assert vevents(root / "output" / "termine.ics")[uid]["sequence"] == 2  # cancelled once, not again


def test_the_release_page_email_and_json_ld_carry_the_date(tmp_path: Path) -> None:
    root = event_site(tmp_path / "site")
    build(root)
    folder = root / "output" / "2025-04-01-kreistag"
    assert (folder / "email.txt").read_text().splitlines()[1:3] == [
        "Der Kreistag tagt öffentlich.",
        "Termin: Mittwoch, 9. April 2025, 11:30 Uhr, Kreishaus Auenfeld, Sitzungssaal"]
    assert "Termin abgesagt: Sonntag, 20. April 2025, 10:00 Uhr, Berufskolleg Auenfeld" in \
        (root / "output" / "2025-03-20-messe" / "email.txt").read_text()
    page = html.fromstring((folder / "index.html").read_bytes())
    scripts = [json.loads(s) for s in page.xpath("//script[@type='application/ld+json']/text()")]
    event = next(s for s in scripts if s["@type"] == "Event")
    assert event["startDate"] == "2025-04-09T11:30:00+02:00" and event["endDate"] == "2025-04-09T13:00:00+02:00"
    assert event["location"] == {"@type": "Place", "name": "Kreishaus Auenfeld, Sitzungssaal",
                                 "address": "Am Auenpark 1, 12345 Auenfeld"}
    assert event["eventStatus"] == "https://schema.org/EventScheduled"
    assert page.xpath("//section[@class='event']//a/@href") == ["termin.ics"]


def test_a_date_moves_to_the_archive_when_it_is_over(tmp_path: Path) -> None:
    root = event_site(tmp_path / "site")
    build(root)
    termine = (root / "output" / "termine" / "index.html").read_text()
    upcoming, past = termine.split('id="vergangene"')
    assert "Kreistag" in upcoming and "Neujahrsempfang" in past
    build(root, "2025-04-09T13:00:01+02:00")
    upcoming, past = (root / "output" / "termine" / "index.html").read_text().split('id="vergangene"')
    assert "Kreistag" not in upcoming and "Kreistag" in past


def test_the_timeline_schedules_a_build_when_a_date_is_over(tmp_path: Path) -> None:
    # a press date moves to the archive of /termine/ only with a build after its end: cron must run one then
    root = event_site(tmp_path / "site")
    listing = CliRunner().invoke(main, ["timeline", "--site", str(root), "--now", NOW]).output.splitlines()
    changes = listing[listing.index("Ändert sich (mit dem ersten Build ab diesem Zeitpunkt):") + 1:]
    assert changes == [
        "  Mi 09.04.2025, 13:00 Uhr  2025-04-01-kreistag  Termin vorbei: rückt auf /termine/ ins Archiv",
        "  So 20.04.2025, 10:00 Uhr  2025-03-20-messe  Termin vorbei: rückt auf /termine/ ins Archiv",
    ]
    cron = CliRunner().invoke(main, ["timeline", "--cron", "--site", str(root), "--now", NOW]).output.splitlines()
    assert "# Mi 09.04.2025, 13:00 Uhr: 2025-04-01-kreistag" in cron
    assert any(line.startswith("0 13 9 4 * cd ") for line in cron)
    later = CliRunner().invoke(main, ["timeline", "--cron", "--site", str(root), "--now", "2025-04-20T10:00:00+02:00"])
    assert "# nothing scheduled" in later.output.splitlines()


def test_event_errors_name_the_line_and_change_nothing(tmp_path: Path) -> None:
    root = event_site(tmp_path / "site")
    build(root)
    before = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "cache" not in p.parts}
    write_release(root, "2025-04-01-kreistag", KREISTAG.replace("  start: 2025-04-09T11:30:00+02:00\n", "")
                  .replace("location:", "ort: x\n  location:").replace("2025-04-09T13:00:00+02:00", "13 Uhr"))
    write_release(root, "2025-05-01-neu", "---\ntitle: Neu\ndate: 2025-04-01\nevent:\n  start: 2025-05-02T10:00:00+02:00\n"
                  "  end: 2025-05-02T09:00:00+02:00\n  location: Saal\n---\nText\n")
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", NOW])
    assert result.exit_code == 1
    assert result.output == (
        "releases/2025-04-01-kreistag/index.md:5: event.end: '13 Uhr' is not a date and time with offset\n"
        "  hint: expected YYYY-MM-DDTHH:MM:SS+02:00, e.g. 2025-04-09T11:30:00+02:00\n"
        "releases/2025-04-01-kreistag/index.md:5: event.start: is missing\n"
        "  hint: the date and time with offset, e.g. 2025-04-09T11:30:00+02:00\n"
        "releases/2025-04-01-kreistag/index.md:6: event.ort: unknown field\n"
        "  hint: known fields: start, end, location, address, accreditation, cancelled\n"
        "releases/2025-05-01-neu/index.md:6: event.end: is not after event.start\n"
        "4 problems found; nothing was written.\n")
    del before[root / "releases" / "2025-04-01-kreistag" / "index.md"]
    after = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "cache" not in p.parts}
    assert {p: after[p] for p in before} == before  # output/ and .pressekit/termine.json untouched


# --- incremental builds over pages and events -----------------------------------------------------

BUILD_NOW = datetime(2025, 4, 2, 12, 0, tzinfo=timezone(timedelta(hours=2)))


def tree(folder: Path) -> dict[str, str]:
    """Digest of every output file; of the search bundles only the content-addressed fragments, since
    Pagefind writes its filter and meta indexes in an arbitrary order (Pagefind issue #638)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and stable(p.relative_to(folder).as_posix())}


def stable(relpath: str) -> bool:
    return not relpath.startswith("pagefind/") or "/fragment/" in relpath or relpath.endswith(".js")


class Site:
    """A site with pages and press dates that the test edits, saving files seconds apart."""

    def __init__(self, root: Path):
        self.root = event_site(root)
        (self.root / "pages").mkdir()
        self.clock = 1_700_000_000
        self.page("impressum", "---\ntitle: Impressum\nfooter: true\n---\nAnbieter: Landkreis\n")
        for path in sorted(self.root.rglob("*")):
            self.tick(path)

    def tick(self, path: Path) -> None:
        self.clock += 2
        os.utime(path, ns=(self.clock * 10**9, self.clock * 10**9))

    def page(self, slug: str, text: str) -> None:
        path = self.root / "pages" / f"{slug}.md"
        path.write_text(text, encoding="utf-8")
        self.tick(path)
        self.tick(path.parent)

    def release(self, rid: str, text: str) -> None:
        folder = write_release(self.root, rid, text)
        self.tick(folder / "index.md")
        self.tick(folder)

    def edit(self, action: str, n: int) -> None:
        kreistag = self.root / "releases" / "2025-04-01-kreistag" / "index.md"
        if action == "page-add":
            self.page(f"seite-{n % 3}", f"---\ntitle: Seite {n}\nnav: {n % 4}\nfooter: {str(n % 2 == 0).lower()}\n---\nText {n}\n")
        elif action == "page-edit":
            self.page("impressum", f"---\ntitle: Impressum {n}\nfooter: true\n---\nAnbieter {n}\n")
        elif action == "page-delete" and (self.root / "pages" / f"seite-{n % 3}.md").exists():
            (self.root / "pages" / f"seite-{n % 3}.md").unlink()
            self.tick(self.root / "pages")
        elif action == "event-move" and kreistag.exists():
            self.release("2025-04-01-kreistag", KREISTAG.replace("11:30", f"{10 + n % 3}:15"))
        elif action == "event-cancel" and kreistag.exists():
            self.release("2025-04-01-kreistag", KREISTAG.replace("  location:", f"  cancelled: {str(n % 2 == 0).lower()}\n  location:"))
        elif action == "event-withdraw" and kreistag.exists():
            shutil.rmtree(kreistag.parent)
            self.tick(self.root / "releases")
        elif action == "event-add":
            self.release(f"2025-03-{n % 28 + 1:02d}-termin", f"---\ntitle: Termin {n}\ndate: 2025-03-{n % 28 + 1:02d}\n"
                         f"event:\n  start: 2025-04-{n % 28 + 1:02d}T09:00:00+02:00\n  location: Saal {n}\n---\nText\n")

    def clean_build(self, target: Path) -> dict[str, str]:
        """A build into a fresh copy without cache and output, with the calendar's history (see pressekit.events)."""
        copy = target / "site"
        shutil.copytree(self.root, copy, ignore=shutil.ignore_patterns(".pressekit", "output"))
        if (self.root / ".pressekit" / "termine.json").exists():
            (copy / ".pressekit").mkdir()
            shutil.copy(self.root / ".pressekit" / "termine.json", copy / ".pressekit" / "termine.json")
        build_site(copy, copy / "output", BUILD_NOW)
        return tree(copy / "output")


ACTIONS = st.sampled_from(["page-add", "page-edit", "page-delete", "event-move", "event-cancel", "event-withdraw",
                           "event-add"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(ACTIONS, st.integers(0, 50)), min_size=1, max_size=4))
def test_incremental_output_equals_clean_build_with_pages_and_events(tmp_path_factory, edits: list[tuple[str, int]]) -> None:
    base = tmp_path_factory.mktemp("inc")
    site = Site(base / "site")
    build_site(site.root, site.root / "output", BUILD_NOW)
    for step, (action, n) in enumerate(edits):
        site.edit(action, n)
        build_site(site.root, site.root / "output", BUILD_NOW)
        history = (site.root / ".pressekit" / "termine.json").read_bytes()
        clean = site.clean_build(base / f"clean{step}")
        assert tree(site.root / "output") == clean, (action, n)
        assert (site.root / ".pressekit" / "termine.json").read_bytes() == history  # a clean build agrees on it
