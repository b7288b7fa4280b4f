"""The authoring workflow: `pressekit new`, `check`, `timeline` and the `serve` preview, on real temporary sites."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from pressekit.errors import PressekitError
from pressekit.check import headings, linked_release
from pressekit.release_fields import FIELDS
from pressekit.releases import load_release, load_site
from pressekit.config_file import load_config
from pressekit.scaffold import new_release
from pressekit.preview_pages import error_page, inject_script, is_loopback, live_script
from pressekit.serve import PreviewServer
import sitekit
from sitekit import CONFIG, SIMPLE, write_legal_pages, write_photo, write_release


def write_site(root: Path, releases: dict[str, str] | None = None, config: str = CONFIG) -> Path:
    """A test site with its legal pages, so that `check` reports only what a test is about."""
    return write_legal_pages(sitekit.write_site(root, releases, config))

BERLIN = ZoneInfo("Europe/Berlin")
NOW = "2026-11-25T12:00:00+01:00"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# --- pressekit new ----------------------------------------------------------------------------------

def test_new_creates_the_release_with_a_german_slug(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    code, out, err = run("new", "Größere Straßenbäume für Übach", "--date", "2026-12-01", "--site", str(root))
    assert (code, err) == (0, "")
    source = root / "releases" / "2026-12-01-groessere-strassenbaeume-fuer-uebach" / "index.md"
    assert out == f"{source}\n"
    text = source.read_text(encoding="utf-8")
    assert text.startswith('---\n# Neue Pressemitteilung.')
    assert 'title: "Größere Straßenbäume für Übach" # Überschrift' in text
    assert re.search(r"^date: 2026-12-01 +# Meldungsdatum", text, re.M)
    assert re.search(r"^contact: pressestelle +# Pressekontakt", text, re.M)
    assert re.search(r"^draft: true +# Entwurf", text, re.M)
    for field in FIELDS:  # every field is there, the optional ones commented out
        assert re.search(rf"^(# )?{field}:", text, re.M), field
    for optional in ("embargo", "updated", "subtitle", "summary", "dateline", "tags", "photos", "attachments"):
        assert re.search(rf"^# {optional}:", text, re.M), optional


def test_new_release_validates_as_written(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    source = new_release(root, "„Zukunft“: Messe zieht 1.800 Jugendliche an", date(2026, 6, 23))
    config, _ = load_config(root)
    release, errors = load_release(source, config)
    assert errors == []
    assert release.title == "„Zukunft“: Messe zieht 1.800 Jugendliche an"
    assert (release.date, release.date_has_time, release.draft) == (datetime(2026, 6, 23, tzinfo=BERLIN), False, True)
    assert release.contact is not None and release.contact.key == "pressestelle"
    assert release.body.strip().startswith("<!--")


def test_new_release_validates_with_every_optional_field_filled_in(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    source = new_release(root, "Neuer Radweg", date(2026, 6, 23))
    write_photo(source.parent / "foto.jpg", size=(1600, 1000))
    (source.parent / "dokument.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    uncommented = re.sub(r"^# (?=[a-z ]+[a-z]+:|  +[- ] ?[a-z]+:)", "", source.read_text(encoding="utf-8"), flags=re.M)
    source.write_text(uncommented, encoding="utf-8")
    config, releases = load_site(root)
    (release,) = releases
    assert release.embargo == datetime(2026, 6, 23, 10, tzinfo=BERLIN)
    assert release.dateline == "Beispielheim"
    assert release.tags == ("Verwaltung", "Verkehr")
    assert [(p.file, p.credit, p.rights.key) for p in release.photos] == [("foto.jpg", "Vorname Name/ Organisation", "press")]
    assert [(a.file, a.title) for a in release.attachments] == [("dokument.pdf", "Titel des Dokuments")]
    assert release.event is not None and release.event.location == "Kreishaus, Sitzungssaal"


def test_new_refuses_to_overwrite(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    assert run("new", "Kreistag tagt", "--date", "2026-12-01", "--site", str(root))[0] == 0
    source = root / "releases" / "2026-12-01-kreistag-tagt" / "index.md"
    source.write_text("mine", encoding="utf-8")
    code, out, err = run("new", "Kreistag tagt!", "--date", "2026-12-01", "--site", str(root))
    assert (code, out) == (1, "")
    assert err == ("Error: releases/2026-12-01-kreistag-tagt/ already exists; nothing was changed "
                   "(choose another title or --date, or edit the existing release)\n")
    assert source.read_text(encoding="utf-8") == "mine"


def test_new_dates_today_in_the_site_time_zone(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    # 23:30 UTC on New Year's Eve is already New Year's Day in Berlin.
    source = new_release(root, "Neujahrsempfang", now=datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc))
    assert source.parent.name == "2027-01-01-neujahrsempfang"
    code, out, _ = run("new", "Heute", "--site", str(root))
    assert code == 0 and re.search(r"/releases/\d{4}-\d\d-\d\d-heute/index\.md$", out.strip())


@pytest.mark.parametrize("title, message", [
    ("?!", "Error: the title '?!' has no letters or digits to name the folder after\n"),
    ("  ", "Error: the title is empty; give it in quotes, e.g. pressekit new \"Neuer Radweg eröffnet\"\n"),
    ("Zwei\nZeilen", "Error: the title contains a line break; a title is a single line\n"),
])
def test_new_rejects_unusable_titles(tmp_path: Path, title: str, message: str) -> None:
    root = write_site(tmp_path / "site")
    assert run("new", title, "--date", "2026-12-01", "--site", str(root)) == (1, "", message)
    assert list((root / "releases").iterdir()) == []


def test_new_keeps_folder_names_short(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    source = new_release(root, "Kreistag " + "beschließt " * 30 + "Haushalt", date(2026, 12, 1))
    assert source.parent.name == "2026-12-01-kreistag" + "-beschliesst" * 4
    assert source.read_text(encoding="utf-8").count("beschließt") == 30  # the title itself stays whole


def test_new_needs_a_site(tmp_path: Path) -> None:
    code, _, err = run("new", "Titel", "--site", str(tmp_path))
    assert code == 1 and "pressekit.toml:1: no pressekit.toml here" in err


def test_new_without_contacts_comments_the_contact_out(tmp_path: Path) -> None:
    config = re.sub(r"\[contacts\.\w+\]\n(?:[a-z]+ = .*\n)+", "", CONFIG)
    root = write_site(tmp_path / "site", config=config)
    source = new_release(root, "Ohne Kontakt", date(2026, 1, 2))
    assert re.search(r"^# contact: pressestelle +# Pressekontakt: in pressekit.toml ist noch kein",
                     source.read_text(encoding="utf-8"), re.M)


# --- pressekit check --------------------------------------------------------------------------------

LONG_TITLE = "Kreis " + "sehr " * 25 + "lang"          # 135 characters
LONG_SUMMARY = "Ein Satz mit Inhalt. " * 16            # 336 characters, 335 as written

EDITORIAL = f'''\
---
title: {LONG_TITLE}
date: 2026-11-20
summary: {LONG_SUMMARY}
photos:
  - file: foto.jpg
    caption: Landrätin Muster eröffnet den Radweg.
    credit: Jana Muster/ Landkreis Beispielheim
    alt: Landrätin Muster eröffnet den Radweg
---
Der Radweg ist fertig, siehe auch [die Sperrfrist-Meldung](../2026-12-24-bescherung/)
und [eine alte Meldung](https://presse.beispielheim.example/2020-01-01-gibt-es-nicht/).

## Bauzeit

#### Kosten

Der [Entwurf](/2026-11-21-entwurf/) und [die Übersicht](../) und [Verkehr](../themen/verkehr/).
'''

EMBARGOED = '''\
---
title: Bescherung im Kreishaus
date: 2026-12-24
embargo: 2026-12-24T10:00:00+01:00
---
Text.
'''

EMPTY = '''\
---
title: Eine Meldung ohne Text
date: 2026-11-20
embargo: 2026-11-24T09:00:00+01:00
---
<!-- noch nichts -->
'''

DRAFT = '''\
---
title: Entwurf
date: 2026-11-21
draft: true
---
Text mit einem [Link auf die Meldung](../2026-11-20-editorial/), die schon online ist.
'''

BROKEN = '''\
---
title: Kaputt
date: 2026-13-01
photos:
  - file: fehlt.jpg
    caption: Bild
    alt: Ein Bild
---
Text.
'''


@pytest.fixture
def editorial_site(tmp_path: Path) -> Path:
    root = write_site(tmp_path / "site", {"2026-11-20-editorial": EDITORIAL, "2026-12-24-bescherung": EMBARGOED,
                                          "2026-11-20-leer": EMPTY, "2026-11-21-entwurf": DRAFT})
    write_photo(root / "releases" / "2026-11-20-editorial" / "foto.jpg", size=(1600, 1000))
    return root


ED = "releases/2026-11-20-editorial/index.md"
EDITORIAL_REPORT = f"""\
{ED}:2: warning: title: 135 characters; subject lines and headlines are cut after about 120
  hint: shorten the title and move details to the subtitle
{ED}:4: warning: summary: 335 characters; feeds and lists show about 300
  hint: shorten the summary to two sentences
{ED}:6: warning: photos[0].credit: longer than the 32 bytes IPTC-IIM allows; it will be cut in IIM metadata
  hint: By-line and Credit: at most 32 bytes; this text has 35
{ED}:6: warning: photos[0].alt: the alt text repeats the caption
  hint: describe what the picture shows for people who cannot see it; the caption is read out anyway
{ED}:11: warning: the link '../2026-12-24-bescherung/' points to the release '2026-12-24-bescherung', which is not published before 24.12.2026, 10:00 Uhr
  hint: readers would find a missing page; link it once it is online
{ED}:12: warning: the link 'https://presse.beispielheim.example/2020-01-01-gibt-es-nicht/' points to the release '2020-01-01-gibt-es-nicht', which does not exist
  hint: check the folder name under releases/
{ED}:16: warning: heading 'Kosten' skips a level: h4 follows h2
  hint: use ### for this heading
{ED}:18: warning: the link '/2026-11-21-entwurf/' points to the release '2026-11-21-entwurf', which is a draft
  hint: readers would find a missing page; link it once it is online

releases/2026-11-20-leer/index.md:4: warning: embargo: 24.11.2026, 09:00 Uhr has already passed; the release goes online with the next build
  hint: check the date of the embargo, or remove the line if that is intended
releases/2026-11-20-leer/index.md:6: warning: the body is empty
  hint: write the text of the release below the front matter

4 releases checked: 0 errors, 10 warnings.
"""


def test_check_lists_editorial_warnings_and_exits_0(editorial_site: Path) -> None:
    before = sorted(p.relative_to(editorial_site) for p in editorial_site.rglob("*"))
    code, out, err = run("check", "--site", str(editorial_site), "--now", NOW)
    assert (code, err) == (0, "")
    assert out == EDITORIAL_REPORT
    assert sorted(p.relative_to(editorial_site) for p in editorial_site.rglob("*")) == before  # nothing written


def test_check_strict_fails_on_warnings(editorial_site: Path) -> None:
    code, out, _ = run("check", "--strict", "--site", str(editorial_site), "--now", NOW)
    assert code == 1
    assert out == EDITORIAL_REPORT


def test_check_json(editorial_site: Path) -> None:
    code, out, _ = run("check", "--format", "json", "--site", str(editorial_site), "--now", NOW)
    assert code == 0
    problems = json.loads(out)
    assert len(problems) == 10
    assert problems[0] == {"path": ED, "line": 2, "severity": "warning",
                           "message": "title: 135 characters; subject lines and headlines are cut after about 120",
                           "hint": "shorten the title and move details to the subtitle"}
    assert {p["severity"] for p in problems} == {"warning"}


def test_check_reports_errors_and_warnings_of_every_file_in_one_run(editorial_site: Path) -> None:
    write_release(editorial_site, "2026-11-22-kaputt", BROKEN)
    code, out, _ = run("check", "--format", "json", "--site", str(editorial_site), "--now", NOW)
    assert code == 1
    found = [(p["path"], p["line"], p["severity"], p["message"]) for p in json.loads(out)]
    assert ("releases/2026-11-22-kaputt/index.md", 3, "error",
            "date: '2026-13-01' is not a valid date (month must be in 1..12)") in found
    assert ("releases/2026-11-22-kaputt/index.md", 5, "error", "photos[0].credit: is missing") in found
    assert ("releases/2026-11-22-kaputt/index.md", 5, "error",
            "photos[0].file: 'fehlt.jpg' does not exist in 2026-11-22-kaputt/") in found
    assert sum(1 for p in found if p[0] == ED) == 8  # the valid files still get their warnings
    assert sum(1 for p in found if p[0] == "releases/2026-11-20-leer/index.md") == 2
    code, out, _ = run("check", "--site", str(editorial_site), "--now", NOW)
    assert code == 1
    assert "releases/2026-11-22-kaputt/index.md:3: error: date: '2026-13-01' is not a valid date" in out
    assert out.endswith("5 releases checked: 3 errors, 10 warnings.\n")


def test_check_reports_photo_problems(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-foto": '''\
        ---
        title: Foto
        date: 2025-03-04
        photos:
          - file: kaputt.jpg
            caption: Ein Bild
            credit: Jana Muster
            alt: Ein Bild von etwas
          - file: klein.jpg
            caption: Noch ein Bild
            credit: Jana Muster
            alt: Ein kleines Bild
        ---
        Text.
        '''})
    folder = root / "releases" / "2025-03-04-foto"
    (folder / "kaputt.jpg").write_bytes(write_photo(folder / "tmp.jpg").read_bytes()[:500])
    write_photo(folder / "klein.jpg", size=(300, 200))
    code, out, _ = run("check", "--format", "json", "--site", str(root), "--now", NOW)
    assert code == 1
    problems = [(p["line"], p["severity"], p["message"].split(":")[0]) for p in json.loads(out)]
    assert (5, "error", "photos[0].file") in problems
    assert (9, "warning", "photos[1].file") in problems


def test_check_of_a_clean_site(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE})
    assert run("check", "--site", str(root), "--now", NOW) == (0, "1 release checked, no problems found.\n", "")


def test_check_of_a_broken_config(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE}, config=CONFIG.replace("[site]", "[stie]"))
    code, out, _ = run("check", "--site", str(root), "--now", NOW)
    assert code == 1
    assert out.startswith("pressekit.toml:1: error: unknown section [stie]\n  hint: did you mean [site]?\n")


def test_check_warns_when_no_contact_exists(tmp_path: Path) -> None:
    config = re.sub(r"\[contacts\.\w+\]\n(?:[a-z]+ = .*\n)+", "", CONFIG)
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE}, config=config)
    code, out, _ = run("check", "--site", str(root), "--now", NOW)
    assert code == 0
    assert out.startswith("releases/2025-03-04-radweg/index.md:1: warning: the release has no contact and "
                          "pressekit.toml has no default contact\n  hint: add a [contacts.pressestelle] table")


def test_check_leaves_old_embargoes_alone(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-alt": EMBARGOED.replace("2026-12-24", "2025-03-04")})
    assert run("check", "--site", str(root), "--now", NOW)[1] == "1 release checked, no problems found.\n"


def test_check_does_not_warn_about_links_between_releases_that_lift_together(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {
        "2026-12-24-bescherung": EMBARGOED,
        "2026-12-24-zweite": EMBARGOED.replace("Text.", "Siehe [die erste](../2026-12-24-bescherung/)."),
        "2026-12-25-dritte": EMBARGOED.replace("2026-12-24T10", "2026-12-24T09").replace(
            "Text.", "Siehe [die erste](../2026-12-24-bescherung/#anfang)."),
    })
    code, out, _ = run("check", "--format", "json", "--site", str(root), "--now", NOW)
    assert [(p["path"], p["line"]) for p in json.loads(out)] == [("releases/2026-12-25-dritte/index.md", 6)]


def test_check_heading_levels(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE.replace(
        "## Bauzeit und Kosten", "### Bauzeit\n\n# Kosten\n\n## Ausblick\n\n### Details")})
    code, out, _ = run("check", "--format", "json", "--site", str(root), "--now", NOW)
    assert [(p["line"], p["message"], p["hint"]) for p in json.loads(out)] == [
        (8, "heading 'Bauzeit' skips a level: h3 follows the title (h1)", "use ## for this heading"),
        (10, "heading 'Kosten' is level 1, like the title",
         "the title is the page's only level-1 heading; start sections with '## '"),
    ]


def test_headings_outside_code() -> None:
    body = "Intro\n\n```\n# no heading\n```\n\nSetext\n======\n\n    # indented code\n\nZwei\n---\n\n- a\n---\n### Drei ###\n"
    assert list(headings(body, 10)) == [(16, 1, "Setext"), (21, 2, "Zwei"), (26, 3, "Drei")]


@pytest.mark.parametrize("url, expected", [
    ("https://presse.beispielheim.example/2026-01-01-x/", "2026-01-01-x"),
    ("https://presse.beispielheim.example/2026-01-01-x/foto.jpg", "2026-01-01-x"),
    ("https://presse.beispielheim.example/themen/verkehr/", None),
    ("https://presse.beispielheim.example/2026/", None),
    ("https://presse.beispielheim.example/feed.xml", None),
    ("https://presse.beispielheim.example/", None),
    ("https://example.org/2026-01-01-x/", None),
    ("mailto:presse@beispielheim.example", None),
])
def test_linked_release(url: str, expected: str | None) -> None:
    assert linked_release(url, "https://presse.beispielheim.example/") == expected


# --- pressekit timeline ------------------------------------------------------------------------------

TIMELINE_SITE = {
    "2025-03-04-radweg": SIMPLE,
    "2026-12-24-bescherung": EMBARGOED,
    "2026-12-24-zweite": EMBARGOED.replace("Bescherung im Kreishaus", "Zweite Meldung"),
    "2027-01-15-neujahr": "---\ntitle: Neujahrsempfang\ndate: 2027-01-15T18:30:45+01:00\n---\nText.\n",
    "2026-07-01-sommer": "---\ntitle: Sommerfest\ndate: 2026-07-01\nembargo: 2026-12-01T06:00:00Z\n---\nText.\n",
    "2026-11-21-entwurf": DRAFT,
}


def test_timeline_lists_what_goes_live_when(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", TIMELINE_SITE)
    code, out, _ = run("timeline", "--site", str(root), "--now", NOW)
    assert code == 0
    assert out == """\
Zeitplan, Stand Mi 25.11.2026, 12:00 Uhr (Europe/Berlin)

Geht online (mit dem ersten Build ab diesem Zeitpunkt):
  Di 01.12.2026, 07:00 Uhr  Sperrfrist     2026-07-01-sommer  Sommerfest
  Do 24.12.2026, 10:00 Uhr  Sperrfrist     2026-12-24-bescherung  Bescherung im Kreishaus
  Do 24.12.2026, 10:00 Uhr  Sperrfrist     2026-12-24-zweite  Zweite Meldung
  Fr 15.01.2027, 18:30 Uhr  Meldungsdatum  2027-01-15-neujahr  Neujahrsempfang

Entwürfe (erscheinen erst mit draft: false):
  2026-11-21-entwurf  Entwurf
"""


def test_timeline_cron(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", TIMELINE_SITE)
    code, out, _ = run("timeline", "--cron", "--site", str(root), "--now", NOW)
    assert code == 0
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    site = root.resolve()
    assert lines == [
        "CRON_TZ=Europe/Berlin",
        f"0 7 1 12 * cd {site} && pressekit publish",
        f"0 10 24 12 * cd {site} && pressekit publish",
        f"31 18 15 1 * cd {site} && pressekit publish",  # 18:30:45 rounds up: a build before the lift is too early
    ]
    assert "# Do 24.12.2026, 10:00 Uhr: 2026-12-24-bescherung, 2026-12-24-zweite" in out.splitlines()


def test_timeline_systemd(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", TIMELINE_SITE)
    code, out, _ = run("timeline", "--systemd", "--site", str(root), "--now", NOW)
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("OnCalendar=")] == [
        "OnCalendar=2026-12-01 07:00:00 Europe/Berlin",
        "OnCalendar=2026-12-24 10:00:00 Europe/Berlin",
        "OnCalendar=2027-01-15 18:30:45 Europe/Berlin",
    ]
    assert "[Timer]" in out and "Persistent=true" in out and "WantedBy=timers.target" in out
    assert "#   ExecStart=pressekit publish" in out.splitlines()


def test_timeline_when_nothing_is_planned(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE})
    out = run("timeline", "--site", str(root), "--now", NOW)[1]
    assert out == ("Zeitplan, Stand Mi 25.11.2026, 12:00 Uhr (Europe/Berlin)\n\n"
                   "Keine Meldung mit Sperrfrist oder künftigem Datum.\n")
    assert "# nothing scheduled" in run("timeline", "--cron", "--site", str(root), "--now", NOW)[1]


def test_timeline_of_an_invalid_site_reports_errors(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2026-11-22-kaputt": BROKEN})
    code, _, err = run("timeline", "--site", str(root), "--now", NOW)
    assert code == 1 and "releases/2026-11-22-kaputt/index.md:3: date:" in err


# --- pressekit serve ----------------------------------------------------------------------------------

PREVIEW_NOW = datetime(2026, 11, 25, 12, tzinfo=BERLIN)


@pytest.fixture
def preview(tmp_path: Path):
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE, "2026-11-21-entwurf": DRAFT,
                                          "2026-12-24-bescherung": EMBARGOED})
    server = PreviewServer(root, port=0, clock=lambda: PREVIEW_NOW, jobs=1)
    server.start()
    yield server
    server.stop()


def get(server: PreviewServer, path: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    """One request with the path sent exactly as given (no client-side normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def change(server: PreviewServer, path: Path, text: str) -> None:
    """Save a file and wait until the preview has rebuilt."""
    before = server.generation
    path.write_text(text, encoding="utf-8")
    assert server.wait_for_build(before, timeout=20), "no rebuild after the change"


def test_serve_shows_the_site_with_live_reload(preview: PreviewServer) -> None:
    status, headers, body = get(preview, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert "Kreis eröffnet neuen Radweg" in body
    assert f'new EventSource("/__pressekit__/events?since={preview.generation}")' in body
    assert body.index("EventSource") < body.rindex("</body>")
    on_disk = (preview.output / "index.html").read_text(encoding="utf-8")
    assert "EventSource" not in on_disk and "__pressekit__" not in on_disk
    status, headers, css = get(preview, "/assets/pressekit.css")
    assert status == 200 and headers["content-type"] == "text/css; charset=utf-8" and "EventSource" not in css
    status, headers, _ = get(preview, "/2025-03-04-radweg")
    assert (status, headers["location"]) == (301, "/2025-03-04-radweg/")
    assert get(preview, "/", method="HEAD")[0] == 200


@pytest.mark.parametrize("path", [
    "/../pressekit.toml", "/%2e%2e/pressekit.toml", "/%2E%2E/pressekit.toml", "/..%2fpressekit.toml",
    "/%2e%2e%2fpressekit.toml", "/2025-03-04-radweg/../../pressekit.toml", "/..\\pressekit.toml",
    "/%2e%2e%5cpressekit.toml", "/./../pressekit.toml", "//../pressekit.toml", "/%00",
])
def test_serve_never_leaves_the_build_folder(preview: PreviewServer, path: str) -> None:
    (preview.output.parent / "pressekit.toml").write_text("secret", encoding="utf-8")
    status, _, body = get(preview, path)
    assert status == 404
    assert "secret" not in body and "[site]" not in body
    assert "Seite nicht gefunden" in body


def test_serve_outside_links_are_404(preview: PreviewServer) -> None:
    link = preview.output / "2025-03-04-radweg" / "raus"
    link.symlink_to(preview.root)
    assert get(preview, "/2025-03-04-radweg/raus/pressekit.toml")[0] == 404


def test_serve_missing_page_is_the_404_page(preview: PreviewServer) -> None:
    status, headers, body = get(preview, "/gibt-es-nicht/")
    assert status == 404 and "Seite nicht gefunden" in body and "EventSource" in body


def test_preview_banners_never_reach_build_output(preview: PreviewServer, tmp_path: Path) -> None:
    draft = get(preview, "/2026-11-21-entwurf/")[2]
    assert '<div class="preview-banner" role="status">ENTWURF – nicht veröffentlicht</div>' in draft
    embargoed = get(preview, "/2026-12-24-bescherung/")[2]
    assert '<div class="preview-banner" role="status">SPERRFRIST bis 24.12.2026, 10:00 Uhr</div>' in embargoed
    assert "preview-banner" not in get(preview, "/2025-03-04-radweg/")[2]
    output = tmp_path / "built"
    code, _, _ = run("build", "--site", str(preview.root), "--output", str(output), "--now", NOW, "--jobs", "1")
    assert code == 0
    pages = list(output.rglob("*.html"))
    assert pages and not (output / "2026-11-21-entwurf").exists() and not (output / "2026-12-24-bescherung").exists()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "preview-banner" not in text and "ENTWURF" not in text and "EventSource" not in text, page


def test_serve_shows_errors_and_recovers(preview: PreviewServer) -> None:
    source = preview.root / "releases" / "2025-03-04-radweg" / "index.md"
    good = source.read_text(encoding="utf-8")
    change(preview, source, good.replace("date: 2025-03-04", "date: <b>gestern</b>"))
    for path in ("/", "/2025-03-04-radweg/", "/gibt-es-nicht/"):
        status, _, body = get(preview, path)
        assert status == 500
        assert "Die Vorschau kann nicht gebaut werden" in body
        assert ("releases/2025-03-04-radweg/index.md:3: date: &#x27;&lt;b&gt;gestern&lt;/b&gt;&#x27; is not a date"
                in body)
        assert "EventSource" in body
    assert get(preview, "/assets/pressekit.css")[0] == 200  # the last good build is still there
    assert "Kreis eröffnet neuen Radweg" in (preview.output / "2025-03-04-radweg" / "index.html").read_text("utf-8")
    change(preview, source, good.replace("sechs Monate", "sieben Monate"))
    status, _, body = get(preview, "/2025-03-04-radweg/")
    assert status == 200 and "sieben Monate" in body


def test_serve_rebuilds_on_config_and_template_changes(preview: PreviewServer) -> None:
    config = preview.root / "pressekit.toml"
    change(preview, config, config.read_text(encoding="utf-8").replace("Landkreises Beispielheim\"",
                                                                         "Landkreises Musterstadt\"", 1))
    assert "Pressemitteilungen des Landkreises Musterstadt" in get(preview, "/")[2]
    change(preview, config, "[site\n")
    status, _, body = get(preview, "/")
    assert status == 500 and "pressekit.toml:1: not valid TOML" in body


def wait_for_status(server: PreviewServer, path: str, status: int, seconds: float = 20.0) -> str:
    """The body of `path` once it answers `status` (a rebuild may take a moment); fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got, _, body = get(server, path)
        if got == status:
            return body
        time.sleep(0.05)
    pytest.fail(f"{path} did not answer {status} within {seconds} s")


TEMPLATE_ERRORS = {
    "undefined": ('{% extends "base.html" %}\n{% block content %}\n<h1>{{ release.title }}</h1>\n{{ titel }}\n'
                  '{% endblock %}\n',
                  "templates/release.html:4: &#x27;titel&#x27; is undefined (while rendering "
                  "releases/2025-03-04-radweg/index.md)"),
    "syntax": ("<p>\n{% if release.title }\n", "templates/release.html:2: unexpected &#x27;}&#x27;"),
}


@pytest.mark.parametrize("text, message", TEMPLATE_ERRORS.values(), ids=TEMPLATE_ERRORS.keys())
def test_serve_shows_a_template_error_and_keeps_running(preview: PreviewServer, text: str, message: str) -> None:
    templates = preview.root / "templates"
    templates.mkdir()
    (templates / "release.html").write_text(text, encoding="utf-8")
    for path in ("/", "/2025-03-04-radweg/"):
        body = wait_for_status(preview, path, 500)
        assert "Die Vorschau kann nicht gebaut werden" in body
        assert message in body
        assert "Traceback" not in body and "EventSource" in body
    (templates / "release.html").unlink()
    body = wait_for_status(preview, "/2025-03-04-radweg/", 200)
    assert "Kreis eröffnet neuen Radweg" in body


def receive_until(sock: socket.socket, marker: bytes, received: bytes = b"", seconds: float = 20.0) -> bytes:
    """Read from the event stream until `marker` arrives; fail after `seconds` or when the stream ends."""
    deadline = time.monotonic() + seconds
    for _ in range(1000):  # a stream of keep-alives alone cannot loop for ever either
        if marker in received:
            return received
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        assert chunk, f"the event stream closed before {marker!r}"
        received += chunk
    pytest.fail(f"no {marker!r} within {seconds} s; got {received!r}")


def test_serve_sends_a_reload_event_after_each_build(preview: PreviewServer) -> None:
    since = preview.generation
    with socket.create_connection(("127.0.0.1", preview.port), timeout=20) as sock:
        sock.sendall(f"GET /__pressekit__/events?since={since} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = receive_until(sock, b"retry:")
        assert b"Content-Type: text/event-stream" in received
        source = preview.root / "releases" / "2025-03-04-radweg" / "index.md"
        source.write_text(source.read_text(encoding="utf-8") + "\nNeu.\n", encoding="utf-8")
        received = receive_until(sock, b"event: reload", received)
        assert f"event: reload\ndata: {since + 1}\n\n".encode() in received


def test_serve_event_stream_catches_up_on_missed_builds(preview: PreviewServer) -> None:
    with socket.create_connection(("127.0.0.1", preview.port), timeout=10) as sock:
        sock.sendall(b"GET /__pressekit__/events?since=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        receive_until(sock, b"event: reload")


def test_serve_stops_with_open_event_streams(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE})
    server = PreviewServer(root, port=0, clock=lambda: PREVIEW_NOW, jobs=1)
    server.start()
    output = server.output
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /__pressekit__/events HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.recv(4096)
    started = time.monotonic()
    server.stop()
    sock.close()
    assert time.monotonic() - started < 5
    assert not output.exists()
    assert not any(t.name.startswith("pressekit-") for t in threading.enumerate())


def test_serve_needs_a_site_and_a_free_port(tmp_path: Path, preview: PreviewServer) -> None:
    with pytest.raises(PressekitError, match="no pressekit.toml in"):
        PreviewServer(tmp_path, port=0, clock=lambda: PREVIEW_NOW).start()
    with pytest.raises(PressekitError, match=f"cannot listen on 127.0.0.1:{preview.port}: .*Choose another --port"):
        PreviewServer(preview.root, port=preview.port, clock=lambda: PREVIEW_NOW).start()


def test_serve_serves_under_the_path_of_base_url(tmp_path: Path) -> None:
    config = CONFIG.replace('base_url = "https://presse.beispielheim.example/"',
                            'base_url = "https://www.beispielheim.example/presse/"')
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE}, config=config)
    with PreviewServer(root, port=0, clock=lambda: PREVIEW_NOW, jobs=1) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/presse/"
        assert get(server, "/")[1]["location"] == "/presse/"
        assert get(server, "/presse")[1]["location"] == "/presse/"
        assert get(server, "/presse/2025-03-04-radweg/")[0] == 200
        assert get(server, "/2025-03-04-radweg/")[0] == 404


def test_serve_command_runs_until_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE})
    seen: list[str] = []

    def interrupt(server: PreviewServer) -> None:
        seen.append(get(server, "/")[2])
        raise KeyboardInterrupt

    monkeypatch.setattr(PreviewServer, "wait", interrupt)
    code, out, err = run("serve", "--site", str(root), "--port", "0", "--now", NOW)
    assert (code, err) == (0, "")
    assert re.fullmatch(r"Vorschau gebaut in \d+\.\d s\.\nVorschau auf http://127\.0\.0\.1:\d+/ \(Entwürfe und "
                        r"Sperrfristen mit Banner\)\. Beenden mit Strg\+C\.\nVorschau beendet\.\n", out)
    assert "Kreis eröffnet neuen Radweg" in seen[0]
    code, _, err = run("serve", "--site", str(root), "--port", "0", "--host", "0.0.0.0", "--now", NOW)
    assert err == "Warning: listening on 0.0.0.0: drafts and embargoed releases are visible to others.\n"


def test_serve_helpers() -> None:
    assert inject_script(b"<html><body><p>x</p></BODY></html>", "<s>") == b"<html><body><p>x</p><s></BODY></html>"
    assert inject_script(b"<p>x</p>", "<s>") == b"<p>x</p><s>"
    assert "&lt;script&gt;" in error_page(["a.md:1: <script>"]).decode()
    assert "since=7" in live_script(7)
    assert [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "192.168.1.2", "example.org")] == [
        True, True, True, False, False, False]
