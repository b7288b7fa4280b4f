"""Golden files for the pages of a small test site, and the page rules every page must keep."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pressekit.build import build_site
from sitekit import write_photo, write_release, write_site

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

WITH_PHOTO = """\
---
title: Neues Löschfahrzeug für die Feuerwehr in Südheim
date: 2025-05-12T11:30:00+02:00
subtitle: Kreis übergibt HLF 20 an den Löschzug
tags: [Feuerwehr, Sicherheit]
contact: pressestelle
photos:
  - file: fahrzeug.jpg
    caption: Landrat Peter Beispiel (l.) übergibt den Schlüssel an Wehrführerin Anna Groß.
    credit: Jörg Grün/ Landkreis Beispielheim
    alt: Zwei Personen vor einem roten Feuerwehrfahrzeug
---
Der Landkreis hat dem Löschzug Südheim ein neues Hilfeleistungslöschfahrzeug übergeben.

## Technik an Bord

- 2.000 Liter Wasser
- hydraulischer Rettungssatz
- Wärmebildkamera

Mehr zur Feuerwehr unter <https://www.feuerwehr-suedheim.example/> und im [Bedarfsplan](https://www.beispielheim.example/bedarfsplan.pdf).
"""

WITH_TABLE = """\
---
title: "Abfallkalender 2025: Neue Abfuhrtermine für „gelbe Säcke“"
date: 2025-04-02
summary: Die Abfuhr der gelben Säcke wechselt in drei Gemeinden den Wochentag.
tags: [Umwelt]
contact: umwelt
---
Ab April ändern sich die Abfuhrtermine.

| Gemeinde | bisher | neu |
|---|---|---|
| Nordstadt | Montag | Dienstag |
| Südheim | Mittwoch | Donnerstag |

Fragen beantwortet das Umweltamt[^1].

[^1]: Montag bis Freitag, 8 bis 12 Uhr.
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_site(tmp_path_factory.mktemp("pages") / "site")
    folder = write_release(root, "2025-05-12-loeschfahrzeug", WITH_PHOTO)
    write_photo(folder / "fahrzeug.jpg", size=(1200, 800), color=(180, 30, 30))
    write_release(root, "2025-04-02-abfallkalender", WITH_TABLE)
    build_site(root, root / "output", NOW)
    return root / "output"


def sizes_hidden(html: str) -> str:
    """JPEG bytes (and so file sizes) change with libjpeg: the goldens hold a placeholder."""
    return re.sub(r"\d+(,\d)? (KB|MB)", "<size>", html)


PAGES = ["index.html", "2025/index.html", "themen/feuerwehr/index.html", "2025-04-02-abfallkalender/index.html",
         "2025-05-12-loeschfahrzeug/index.html", "404.html", "sitemap.xml"]


@pytest.mark.parametrize("relpath", PAGES)
def test_page_golden(built: Path, golden, relpath: str) -> None:
    golden("pages/" + relpath.replace("/", "__"), sizes_hidden((built / relpath).read_text("utf-8")))


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        self._in_script = tag == "script"
        if tag not in ("meta", "link", "img", "br", "hr", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


@pytest.mark.parametrize("relpath", [p for p in PAGES if p.endswith(".html")])
def test_page_structure(built: Path, relpath: str) -> None:
    html = (built / relpath).read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"de\">")
    checker = _Checker()
    checker.feed(html)
    assert checker.stack == []  # every element closed in order
    tags = [t for t, _ in checker.tags]
    assert tags.count("h1") == 1 and tags.count("main") == 1 and "header" in tags and "footer" in tags
    assert all(b - a <= 1 for a, b in zip(checker.headings, checker.headings[1:])), checker.headings
    assert all("alt" in attrs for tag, attrs in checker.tags if tag == "img")
    assert any(t == "a" and a.get("class") == "skip-link" for t, a in checker.tags)
    canonical = [a["href"] for t, a in checker.tags if t == "link" and a.get("rel") == "canonical"]
    assert canonical and canonical[0].startswith("https://presse.beispielheim.example/")
    for script in checker.scripts:
        json.loads(script)  # only JSON-LD, never code


def test_release_page_shows_credit_rights_and_json_ld(built: Path) -> None:
    html = (built / "2025-05-12-loeschfahrzeug" / "index.html").read_text("utf-8")
    assert "Foto: Jörg Grün/ Landkreis Beispielheim" in html
    assert "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung" in html
    assert 'srcset="photos/fahrzeug-thumb.jpg 200w, photos/fahrzeug-web.jpg 400w"' in html
    assert "Meldungsdatum: <time datetime=\"2025-05-12T11:30:00+02:00\">12.05.2025</time>" in html
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["@type"] == "NewsArticle" and data["headline"].startswith("Neues Löschfahrzeug")
    image = data["image"][0]
    assert (image["creditText"], image["copyrightNotice"]) == ("Jörg Grün/ Landkreis Beispielheim", "© Landkreis Beispielheim")
    assert image["license"] == "https://presse.beispielheim.example/nutzungsbedingungen/"


def test_archive_pages_stay_unchanged_when_releases_are_added(tmp_path: Path) -> None:
    from sitekit import CONFIG

    root = write_site(tmp_path / "site", config=CONFIG.replace('dateline = "Beispielheim"', 'per_page = 2'))
    out = root / "output"

    def add(n: int) -> dict[str, bytes]:
        write_release(root, f"2025-01-{n:02d}-m{n}", f"---\ntitle: Meldung {n}\ndate: 2025-01-{n:02d}\n---\nText {n}.\n")
        build_site(root, out, NOW)
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.glob("seite/*/index.html")}

    for n in range(1, 8):
        pages = add(n)
    assert sorted(pages) == ["seite/1/index.html", "seite/2/index.html"]
    front = (out / "index.html").read_text()
    assert [t for t in ("Meldung 7", "Meldung 6", "Meldung 5", "Meldung 4") if t in front] == ["Meldung 7", "Meldung 6", "Meldung 5"]
    assert "Meldung 4" in pages["seite/2/index.html"].decode() and "Meldung 3" in pages["seite/2/index.html"].decode()
    assert "05.01.2025 – 07.01.2025" not in front and "03.01.2025 – 04.01.2025" in pages["seite/2/index.html"].decode()
    after = add(8)
    assert after == pages  # a new release changes the front page only
    after = add(9)  # a new archive page appears; the older ones stay, but for the newest one's link
    assert after["seite/1/index.html"] == pages["seite/1/index.html"]
    assert sorted(after) == ["seite/1/index.html", "seite/2/index.html", "seite/3/index.html"]
