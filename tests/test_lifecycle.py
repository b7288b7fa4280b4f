"""After a release is out: validation of corrections, withdrawals and photo lifecycle fields; one
PhotoRights value per photo read by every output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from sitekit import CONFIG, write_photo, write_release, write_site

NOW = "2025-07-10T12:00:00+02:00"
EXIFTOOL = shutil.which("exiftool")

RELEASE = """\
---
title: Vermisster Junge wieder da
date: 2025-07-02T10:00:00+02:00
photos:
  - file: junge.jpg
    caption: Der vermisste Junge
    credit: Jana Beispiel/ Landkreis Beispielheim
    alt: Ein Junge mit roter Mütze
    rights: ohne
    photographer: Jana Beispiel
---
Die Polizei bittet um Mithilfe.
"""

RIGHTS_WITHOUT_COPYRIGHT = CONFIG.replace("[rights.press]", '[rights.ohne]\nlabel = "Nur zur Fahndung"\n\n[rights.press]')


def build(root: Path, now: str = NOW) -> None:
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", now])
    assert result.exit_code == 0, result.output


def check(root: Path, now: str = NOW) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--site", str(root), "--now", now])
    return result.exit_code, result.output


@pytest.mark.parametrize("fields, message", [
    ("corrections:\n  - date: 2025-07-01T09:00:00+02:00\n    text: Falsche Uhrzeit.\n",
     "releases/x/index.md:5: corrections[0].date: 2025-07-01T09:00:00+02:00 is before the release's date "
     "2025-07-02T10:00:00+02:00"),
    ("corrections:\n  - date: 2025-07-03T09:00:00+02:00\n", "releases/x/index.md:5: corrections[0].text: is missing"),
    ("withdrawn:\n  date: 2025-07-03T09:00:00+02:00\n", "releases/x/index.md:5: withdrawn.reason: is missing"),
    ("withdrawn:\n  date: 2025-07-03\n  reason: ''\n", "releases/x/index.md:6: withdrawn.reason: is missing"),
    ("photos:\n  - file: a.jpg\n    caption: C\n    credit: K\n    alt: A\n    expires: 2025-07-01\n",
     "releases/x/index.md:9: photos[0].expires: 2025-07-01T00:00:00+02:00 is not after the release's date "
     "2025-07-02T10:00:00+02:00"),
    ("photos:\n  - file: a.jpg\n    caption: C\n    credit: K\n    alt: A\n    source: AI\n",
     "releases/x/index.md:9: photos[0].source: 'AI' is not a known source"),
    ("photos:\n  - file: a.jpg\n    caption: C\n    credit: K\n    alt: A\n    symbolic: ja\n",
     "releases/x/index.md:9: photos[0].symbolic: 'ja' is not true or false"),
    ("withdrawn: ja\n", "releases/x/index.md:4: withdrawn: expected 'date: ...' and 'reason: ...' below it"),
    ("corections: []\n", "releases/x/index.md:4: unknown field 'corections'"),
])
def test_bad_lifecycle_fields_are_errors_with_their_line(tmp_path: Path, fields: str, message: str) -> None:
    root = write_site(tmp_path / "site")
    folder = write_release(root, "x", "---\ntitle: T\ndate: 2025-07-02T10:00:00+02:00\n" + fields + "---\nText.\n")
    write_photo(folder / "a.jpg", (900, 600))
    code, output = check(root)
    assert code == 1
    assert re.sub(r"^(\S+:\d+: )", r"\1error: ", message) in output.splitlines(), output


def _texts_of_copyright(root: Path) -> dict[str, str]:
    """The copyright every output gives the one photo of the release."""
    out = root / "output"
    rid = "2025-07-02-junge"
    page = (out / rid / "index.html").read_text("utf-8")
    ld = json.loads(re.search(r'<script type="application/ld\+json">\s*(.*?)\s*</script>', page, re.S)
                    .group(1).replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"))
    rights_line = re.search(r'<p class="rights">(.*?)</p>', page).group(1)
    with zipfile.ZipFile(out / rid / "fotos.zip") as archive:
        credits = archive.read("BILDNACHWEIS.txt").decode("utf-8")
    mail_html = (out / rid / "email.html").read_text("utf-8")
    feed = json.loads((out / "feed.json").read_text("utf-8"))
    rss = (out / "feed.xml").read_text("utf-8")
    xmp = (out / rid / "photos" / "junge-print.jpg").read_bytes()
    found = {
        "json-ld": ld["image"][0]["copyrightNotice"],
        "page": rights_line.rsplit(" · ", 1)[1],
        "BILDNACHWEIS": re.search(r"^Copyright: (.*)$", credits, re.M).group(1),
        "e-mail": re.search(r" · (© [^·<]*?) ·", mail_html).group(1),
        "feed.json": feed["items"][0]["_pressekit"]["photos"][0]["rights"]["copyright"],
        "rss": re.search(r"<media:copyright>(.*?)</media:copyright>", rss).group(1),
        "xmp": re.search(rb'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(.*?)</rdf:li>', xmp)
               .group(1).decode("utf-8"),
    }
    return found


def test_rights_without_copyright_give_one_copyright_everywhere(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-07-02-junge": RELEASE}, config=RIGHTS_WITHOUT_COPYRIGHT)
    write_photo(root / "releases" / "2025-07-02-junge" / "junge.jpg", (900, 600))
    build(root)
    found = _texts_of_copyright(root)
    assert found == dict.fromkeys(found, "© Jana Beispiel")
    page = (root / "output" / "2025-07-02-junge" / "index.html").read_text("utf-8")
    assert '"creator": {\n        "@type": "Person",\n        "name": "Jana Beispiel"\n      }' in page


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (CI installs it)")
def test_photographer_is_the_creator_and_the_credit_stays_whole(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-07-02-junge": RELEASE}, config=RIGHTS_WITHOUT_COPYRIGHT)
    write_photo(root / "releases" / "2025-07-02-junge" / "junge.jpg", (900, 600))
    build(root)
    photo = root / "output" / "2025-07-02-junge" / "photos" / "junge-print.jpg"
    tags = json.loads(subprocess.run([EXIFTOOL, "-json", "-G1", "-XMP-dc:Creator", "-IPTC:By-line",
                                      "-XMP-photoshop:Credit", "-IPTC:Credit", "-IFD0:Artist", str(photo)],
                                     capture_output=True, check=True, text=True).stdout)[0]
    assert (tags["XMP-dc:Creator"], tags["IPTC:By-line"], tags["IFD0:Artist"]) == ("Jana Beispiel",) * 3
    assert tags["XMP-photoshop:Credit"] == "Jana Beispiel/ Landkreis Beispielheim"
    assert tags["IPTC:Credit"] == "Jana Beispiel/ Landkreis Beispie"  # IIM allows 32 bytes; XMP holds it whole


# --- corrections and withdrawals ------------------------------------------------------------------

CORRECTED = """\
---
title: Sperrung der Kreisstraße 12
date: 2025-07-02T10:00:00+02:00
updated: 2025-07-03T09:00:00+02:00
tags: [Verkehr]
corrections:
  - date: 2025-07-03T09:00:00+02:00
    text: Die Sperrung beginnt am 14. Juli, nicht am 12. Juli.
photos:
  - file: strasse.jpg
    caption: Die Kreisstraße 12 bei Südheim
    credit: Jana Beispiel/ Landkreis Beispielheim
    alt: Eine Landstraße mit Baustellenschildern
    symbolic: true
---
Die Kreisstraße 12 wird ab dem 14. Juli gesperrt.
"""

WITHDRAWN = """\
---
title: Polizei sucht vermissten Jungen
date: 2025-07-04T08:00:00+02:00
tags: [Verkehr]
withdrawn:
  date: 2025-07-05T18:00:00+02:00
  reason: Der Junge ist wohlbehalten zurück. Bitte löschen Sie sein Foto.
photos:
  - file: strasse.jpg
    caption: Der vermisste Junge
    credit: Polizei Beispielheim
    alt: Ein Junge mit roter Mütze
attachments:
  - file: fahndung.pdf
    title: Fahndungsaufruf
---
Die Polizei bittet um Mithilfe bei der Suche.
"""

BEFORE, AFTER = "2025-07-05T12:00:00+02:00", "2025-07-05T19:00:00+02:00"


@pytest.fixture
def lifecycle_site(tmp_path: Path) -> Path:
    root = write_site(tmp_path / "site", {"2025-07-02-sperrung": CORRECTED, "2025-07-04-vermisst": WITHDRAWN})
    for rid in ("2025-07-02-sperrung", "2025-07-04-vermisst"):  # the same picture in both releases
        write_photo(root / "releases" / rid / "strasse.jpg", (900, 600))
    (root / "releases" / "2025-07-04-vermisst" / "fahndung.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    return root


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["2025-07-02-sperrung/index.html", "2025-07-02-sperrung/email.txt",
                                  "2025-07-02-sperrung/email.html", "2025-07-04-vermisst/index.html",
                                  "feed.xml", "atom.xml", "feed.json", "sitemap.xml"])
def test_corrected_and_withdrawn_goldens(lifecycle_site: Path, golden, name: str) -> None:
    build(lifecycle_site, AFTER)
    golden("lifecycle/" + name.replace("/", "__"), (lifecycle_site / "output" / name).read_bytes())
    # the withdrawn release was the only one of the last two days: an empty news sitemap is invalid, so none
    assert not (lifecycle_site / "output" / "news-sitemap.xml").exists()


def test_withdrawal_removes_every_file_of_the_release_but_its_tombstone(lifecycle_site: Path) -> None:
    build(lifecycle_site, BEFORE)
    before = tree(lifecycle_site / "output")
    build(lifecycle_site, AFTER)
    after = tree(lifecycle_site / "output")
    rid = "2025-07-04-vermisst/"

    def regenerated(rel: str) -> bool:  # the search index is made anew; the news sitemap goes with its last release
        return rel.startswith("pagefind/") or rel == "news-sitemap.xml"
    assert sorted(rel for rel in set(before) - set(after) if not regenerated(rel)) == sorted(
        rel for rel in before if rel.startswith(rid) and rel != rid + "index.html")
    assert {rel for rel in set(after) - set(before) if not regenerated(rel)} == set()
    assert sorted(rel for rel in after if rel.startswith(rid)) == [rid + "index.html"]
    # the other release keeps its copy of the same picture, byte for byte
    kept = [rel for rel in before if rel.startswith("2025-07-02-sperrung/")]
    assert kept and all(after[rel] == before[rel] for rel in kept if not rel.endswith((".html",)))
    page = after[rid + "index.html"].decode("utf-8")
    assert '<meta name="robots" content="noindex">' in page
    assert "Die Polizei bittet" not in page and "strasse" not in page
    for listing in ("index.html", "2025/index.html", "themen/verkehr/index.html", "sitemap.xml", "news-sitemap.xml"):
        assert "vermisst" not in after.get(listing, b"").decode("utf-8"), listing
    assert "vermisst" in before["index.html"].decode("utf-8")


def test_withdrawn_feed_item_keeps_its_guid(lifecycle_site: Path) -> None:
    build(lifecycle_site, AFTER)
    import feedparser  # type: ignore[import-untyped]

    feed = feedparser.parse((lifecycle_site / "output" / "feed.xml").read_bytes())
    item = next(e for e in feed.entries if "vermisst" in e.id)
    assert item.id == "https://presse.beispielheim.example/2025-07-04-vermisst/"
    assert item.title == "ZURÜCKGEZOGEN: Polizei sucht vermissten Jungen"
    assert item.summary == "Der Junge ist wohlbehalten zurück. Bitte löschen Sie sein Foto."
    assert "enclosures" not in item or item.enclosures == []


# --- photos over time -----------------------------------------------------------------------------

EXPIRING = """\
---
title: Neue Kita in Südheim
date: 2025-07-02T10:00:00+02:00
photos:
  - file: kinder.jpg
    caption: Kinder beim Spielen
    credit: Jana Beispiel/ Landkreis Beispielheim
    alt: Kinder im Sandkasten
    expires: 2025-08-01
  - file: gebaeude.jpg
    caption: Das neue Gebäude
    credit: Landkreis Beispielheim
    alt: Ein Flachbau mit bunter Fassade
    source: ki
    symbolic: true
---
Die Kita hat 80 Plätze.
"""


@pytest.fixture
def expiring_site(tmp_path: Path) -> Path:
    root = write_site(tmp_path / "site", {"2025-07-02-kita": EXPIRING})
    write_photo(root / "releases" / "2025-07-02-kita" / "kinder.jpg", (900, 600))
    write_photo(root / "releases" / "2025-07-02-kita" / "gebaeude.jpg", (900, 600), color=(200, 80, 60))
    return root


def test_an_expired_photo_is_gone_from_every_output(expiring_site: Path) -> None:
    build(expiring_site, "2025-07-31T23:59:00+02:00")
    before = tree(expiring_site / "output")
    assert "2025-07-02-kita/photos/kinder-web.jpg" in before
    assert b"kinder" in before["2025-07-02-kita/email.txt"] or b"Kinder beim Spielen" in before["2025-07-02-kita/email.txt"]
    build(expiring_site, "2025-08-01T00:00:00+02:00")
    after = tree(expiring_site / "output")
    assert sorted(set(before) - set(after)) == [f"2025-07-02-kita/photos/kinder-{v}.jpg" for v in ("print", "thumb", "web")]
    for name in ("2025-07-02-kita/index.html", "2025-07-02-kita/email.txt", "2025-07-02-kita/email.html",
                 "2025-07-02-kita/release.eml", "feed.xml", "atom.xml", "feed.json", "index.html"):
        assert "Kinder" not in after[name].decode("utf-8") and "kinder" not in after[name].decode("utf-8"), name
    with zipfile.ZipFile(expiring_site / "output" / "2025-07-02-kita" / "fotos.zip") as archive:
        assert archive.namelist() == ["BILDNACHWEIS.txt", "gebaeude-print.jpg"]
    assert "Das neue Gebäude (Symbolfoto) (KI-generiert) Foto: Landkreis Beispielheim" in \
        after["2025-07-02-kita/email.txt"].decode("utf-8")


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (CI installs it)")
def test_exiftool_reads_source_type_licensor_instructions_and_resolution(expiring_site: Path) -> None:
    build(expiring_site)
    photos = expiring_site / "output" / "2025-07-02-kita" / "photos"
    tags = json.loads(subprocess.run(
        [EXIFTOOL, "-json", "-G1", "-XMP-iptcExt:DigitalSourceType", "-XMP-plus:LicensorURL",
         "-IPTC:SpecialInstructions", "-JFIF:XResolution", "-IFD0:XResolution", "-IFD0:ResolutionUnit",
         "-XMP-dc:Description", "-IPTC:Caption-Abstract", str(photos / "gebaeude-print.jpg"), str(photos / "gebaeude-web.jpg")],
        capture_output=True, check=True, text=True).stdout)
    printed, web = tags
    assert printed["XMP-iptcExt:DigitalSourceType"] == \
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    assert printed["XMP-plus:LicensorURL"] == "https://presse.beispielheim.example/nutzungsbedingungen/"
    assert printed["IPTC:SpecialInstructions"] == "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung"
    assert (printed["JFIF:XResolution"], printed["IFD0:XResolution"], printed["IFD0:ResolutionUnit"]) == \
        (300, 300, "inches")
    assert (web["JFIF:XResolution"], web["IFD0:XResolution"]) == (72, 72)
    assert printed["XMP-dc:Description"] == printed["IPTC:Caption-Abstract"] == \
        "Das neue Gebäude (Symbolfoto) (KI-generiert)"


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (CI installs it)")
def test_no_variant_has_exif_warnings_from_exiftool_validate(expiring_site: Path) -> None:
    build(expiring_site)
    files = sorted(str(p) for p in (expiring_site / "output" / "2025-07-02-kita" / "photos").glob("*.jpg"))
    assert len(files) == 6
    out = subprocess.run([EXIFTOOL, "-validate", "-warning", "-a", *files], capture_output=True, check=True,
                         text=True).stdout
    warnings = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Warning")]
    assert warnings == []  # IIM texts are cut to their byte limits (check warns of that), so nothing is left


def test_timeline_lists_expiries_and_its_schedule_rebuilds_then(expiring_site: Path) -> None:
    result = CliRunner().invoke(main, ["timeline", "--site", str(expiring_site), "--now", NOW])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == [
        "Keine Meldung mit Sperrfrist oder künftigem Datum.",
        "",
        "Ändert sich (mit dem ersten Build ab diesem Zeitpunkt):",
        "  Fr 01.08.2025, 00:00 Uhr  2025-07-02-kita  Foto läuft ab: kinder.jpg",
    ]
    cron = CliRunner().invoke(main, ["timeline", "--cron", "--site", str(expiring_site), "--now", NOW]).output
    assert "# Fr 01.08.2025, 00:00 Uhr: 2025-07-02-kita" in cron.splitlines()
    assert any(line.startswith("0 0 1 8 * cd ") for line in cron.splitlines())
    after = CliRunner().invoke(main, ["timeline", "--cron", "--site", str(expiring_site),
                                      "--now", "2025-08-01T00:00:00+02:00"]).output
    assert "# nothing scheduled" in after.splitlines()


@pytest.mark.parametrize("now, warned", [("2025-07-01T23:59:00+02:00", False), ("2025-07-02T10:00:00+02:00", True),
                                         ("2025-08-01T00:00:00+02:00", False)])
def test_check_warns_30_days_before_a_photo_expires(expiring_site: Path, now: str, warned: bool) -> None:
    _, output = check(expiring_site, now)
    line = ("releases/2025-07-02-kita/index.md:5: warning: photos[0].expires: 01.08.2025, 00:00 Uhr is less than "
            "30 days away; the photo is removed with the first build after it")
    assert (line in output.splitlines()) is warned, output


def test_the_email_command_prints_the_email_a_build_at_that_time_writes(lifecycle_site: Path) -> None:
    """`pressekit email --now` shows corrections made by then and nothing of a withdrawn release."""
    build(lifecycle_site, AFTER)
    runner = CliRunner()
    rid = "2025-07-02-sperrung"
    shown = runner.invoke(main, ["email", rid, "--site", str(lifecycle_site), "--now", AFTER])
    assert shown.exit_code == 0, shown.output
    assert shown.output == (lifecycle_site / "output" / rid / "email.txt").read_text("utf-8") + "\n"
    assert "nicht am 12. Juli" in shown.output
    early = runner.invoke(main, ["email", rid, "--site", str(lifecycle_site), "--now", "2025-07-02T12:00:00+02:00"])
    assert early.exit_code == 0 and "nicht am 12. Juli" not in early.output  # the correction came a day later
    gone = runner.invoke(main, ["email", "2025-07-04-vermisst", "--site", str(lifecycle_site), "--now", AFTER])
    assert gone.exit_code == 1
    assert gone.output == ("Error: 2025-07-04-vermisst was withdrawn on 05.07.2025, 18:00 Uhr: it has no e-mail "
                           "any more, only its page saying so\n")
    before = runner.invoke(main, ["email", "2025-07-04-vermisst", "--site", str(lifecycle_site), "--now", BEFORE])
    assert before.exit_code == 0 and "Die Polizei bittet um Mithilfe" in before.output
