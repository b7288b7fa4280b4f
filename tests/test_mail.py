"""The release as e-mail: press-service text, HTML alternative, MIME message and its header guard."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import email.utils
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from pressekit.config import Config
from pressekit.errors import PressekitError
from pressekit.mail import (
    HeaderError, MailError, build_message, check_headers, email_files, find_release, render_email, sender_of,
)
from pressekit.markup import render_html
from pressekit.model import Release, Variant
from pressekit.mail.plaintext import html_to_blocks, html_to_lines, link_text, text_lines
from pressekit.releases import load_site
from pressekit.text import CONTROL, LINE_BREAKS
from sitekit import SIMPLE, write_photo, write_site
from sitekit import CONFIG as LINKED_CONFIG

# The press-service layout as SPEC section 5 defines it; tests/test_mail_links.py covers [email] links = true.
CONFIG = LINKED_CONFIG + "links = false\n"

BASE = "https://presse.beispielheim.example/"
CVE_2024_6923 = "PM=?UTF-8?Q?=0A?=Bcc: x@example.org"

ONE_PHOTO = '''\
---
title: Umweltamt lädt zum „Tag der offenen Tür“ ein
date: 2025-05-12
contact: umwelt
photos:
  - file: labor.jpg
    caption: Im Labor des Umweltamts werden jährlich rund 4.000 Wasserproben untersucht.
    credit: Jörg Grün/ Landkreis Beispielheim
    alt: Eine Laborantin hält ein Reagenzglas gegen das Licht
---
Am Samstag öffnet das Umweltamt von 10&nbsp;bis 16&nbsp;Uhr seine Türen. Das Programm:

- Führungen durch das **Wasserlabor**
- Mitmach-Aktionen für Kinder, siehe [Programmheft](programm.pdf)
- Vorträge zum Thema *Grundwasser*

Anmeldung unter <https://www.beispielheim.example/tag-der-offenen-tuer> oder per
[E-Mail](mailto:umwelt@beispielheim.example). Weitere Infos: [www.beispielheim.example](https://www.beispielheim.example/).
'''

TWO_PHOTOS = '''\
---
title: Neue Rettungswache in Südheim geht in Betrieb
date: 2025-06-02
embargo: 2025-06-02T11:00:00+02:00
dateline: Südheim
photos:
  - file: wache.jpg
    caption: Die neue Rettungswache an der Hauptstraße.
    credit: Jana Muster/ Landkreis Beispielheim
    alt: Ein Flachbau mit drei Fahrzeughallen
  - file: team.jpg
    caption: Landrat Max Beispiel (l.) übergibt den Schlüssel an Wachleiterin Petra Blau.
    credit: Landkreis Beispielheim
    alt: Zwei Personen mit einem großen Schlüssel
    rights: frei
---
Die Rettungswache verkürzt die Anfahrtszeiten im Süden des Kreises deutlich.

## Die Wache in Zahlen

| Bereich | Anzahl |
|:--------|-------:|
| Fahrzeughallen | 3 |
| Mitarbeitende | 42 |

„Damit erreichen wir 95&#160;Prozent der Einsatzorte in zwölf Minuten“, sagt Landrat Max Beispiel.[^1]

[^1]: Gesetzlich vorgeschrieben sind 90 Prozent.
'''

THIRTEEN_PHOTOS = '''\
---
title: Dreizehn Bilder vom Kreisfest
date: 2025-07-01T09:30:00+02:00
photos:
{photos}---
Das Kreisfest lockte rund 8.000 Besucherinnen und Besucher an.
'''

CASES = {
    "2025-03-04-radweg": SIMPLE,
    "2025-05-12-ein-foto": ONE_PHOTO,
    "2025-06-02-zwei-fotos": TWO_PHOTOS,
    "2025-07-01-dreizehn-fotos": THIRTEEN_PHOTOS.format(photos="".join(
        f"  - file: fest-{n:02d}.jpg\n    caption: Szene {n} vom Kreisfest.\n    credit: Foto-AG {n}\n"
        f"    alt: Besucher beim Kreisfest, Bild {n}\n" for n in range(1, 14))),
}
PHOTO_FILES = {
    "2025-05-12-ein-foto": ["labor.jpg"],
    "2025-06-02-zwei-fotos": ["wache.jpg", "team.jpg"],
    "2025-07-01-dreizehn-fotos": [f"fest-{n:02d}.jpg" for n in range(1, 14)],
}


def hand_made_variants(release: Release) -> dict[tuple[str, str], tuple[Variant, ...]]:
    """Variants as the photo stage would report them for the two-photo release."""
    return {
        (release.id, photo.file): tuple(
            Variant(name, f"{release.id}/photos/{photo.stem}-{name}.jpg", width, width * 2 // 3, width * 40)
            for name, width in (("thumb", 200), ("web", 400), ("print", 800)))
        for photo in release.photos if release.id == "2025-06-02-zwei-fotos"
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, dict[str, Release]]:
    root = write_site(tmp_path_factory.mktemp("site"), CASES, config=CONFIG)
    for release_id, files in PHOTO_FILES.items():
        for name in files:
            write_photo(root / "releases" / release_id / name, size=(60, 40))
    config, releases = load_site(root)
    return config, {r.id: r for r in releases}


def render(config: Config, release: Release):
    return render_email(release, config, hand_made_variants(release), render_html(release.body))


def with_email(config: Config, **changes: object) -> Config:
    return dataclasses.replace(config, email=dataclasses.replace(config.email, **changes))


# --- goldens -------------------------------------------------------------------


@pytest.mark.parametrize("release_id", sorted(CASES))
def test_email_goldens(site, golden, release_id: str) -> None:
    config, releases = site
    files = email_files(releases[release_id], config, hand_made_variants(releases[release_id]),
                        render_html(releases[release_id].body))
    assert [f.relpath for f in files] == [f"{release_id}/{n}" for n in ("email.txt", "email.html", "release.eml")]
    for f in files:
        golden(f"mail/{f.relpath}", f.read())


def test_ots_golden(site, golden) -> None:
    config, releases = site
    ots = with_email(config, layout="ots")
    for release_id in ("2025-03-04-radweg", "2025-06-02-zwei-fotos"):
        golden(f"mail/ots/{release_id}/email.txt", render(ots, releases[release_id]).text)


def test_ots_layout_structure(site) -> None:
    config, releases = site
    text = render(with_email(config, layout="ots"), releases["2025-06-02-zwei-fotos"]).text
    blocks = text.split("\n\n")
    assert blocks[:4] == ["Sperrfrist: 02.06.2025, 11:00 Uhr", "Landkreis Beispielheim",
                          "Neue Rettungswache in Südheim geht in Betrieb",
                          "Südheim (ots) - Die Rettungswache verkürzt die Anfahrtszeiten im Süden des Kreises deutlich."]
    assert "Rückfragen bitte an:" in blocks
    assert blocks[-1] == "Original-Content von: Landkreis Beispielheim\n"


def test_ots_dateline_falls_back_to_the_site(site) -> None:
    config, releases = site
    text = render(with_email(config, layout="ots"), releases["2025-03-04-radweg"]).text
    assert "\n\nBeispielheim (ots) - Der neue Radweg ist 4,2 Kilometer lang" in text


# --- the press-service layout ------------------------------------------------------

# The reference e-mail (shared/reference/000_a90a7c6c574d20ec.txt), line by line, as kinds of lines:
REFERENCE_KINDS = ["date", "body", "body", "body", "body", "count", "contact", "notice", "caption", "reuse",
                   "membership", "heading", "boilerplate"]
REFERENCE_CONFIG = CONFIG.replace(
    'membership = "Die Pressestelle \\" Landkreis Beispielheim\\" ist Mitglied bei presse-service.example '
    '[ www.presse-service.example]. Dort können Sie Mitteilungen recherchieren."',
    'membership = "Die Pressestelle \\" Landkreis Beispielheim\\" ist Mitglied bei presse-service.de '
    '[ www.presse-service.de]. Dort können Sie Mitteilungen weiterer Pressestellen recherchieren und als '
    'RSS-Feed oder E-Mail abonnieren."')
REFERENCE_RELEASE = '''\
---
title: Kreismusikschule erneut als „Musikschule des Jahres“ ausgezeichnet
date: 2025-09-08
photos:
  - file: urkunde.jpg
    caption: "Stolz auf die Auszeichnung: Schulleiterin Anna Klang (r.) und Landrat Max Beispiel (l.)."
    credit: Jana Muster/ Landkreis Beispielheim
    alt: Zwei Personen halten eine Urkunde
  - file: orchester.jpg
    caption: Das Jugendorchester der Kreismusikschule beim Festakt.
    credit: Jana Muster/ Landkreis Beispielheim
    alt: Ein Orchester auf einer Bühne
---
Die Auszeichnung umfasst den Unterricht, die Ensemblearbeit sowie die Kooperationen mit Schulen – also das
vollständige Angebot der Kreismusikschule. Sie gilt bis zum Jahr 2028.

„Die Kreismusikschule ist die einzige Einrichtung im Land, die zum dritten Mal in Folge ausgezeichnet wird –
das zeigt ihre Qualität“, betont Landrat Max Beispiel.

Die Jury besuchte Unterrichtsstunden in allen sechs Zweigstellen und sprach mit Lehrkräften, Eltern und
Schülerinnen und Schülern.

Auf dem Besuchsplan standen in diesem Jahr unter anderem die Zweigstellen in Nordstadt und Südheim.
'''


def classify(line: str, config: Config) -> str:
    """The kind of a line of the press-service layout, recognised by its fixed phrases."""
    texts, boiler = config.texts, config.boilerplate
    kinds = [
        ("date", re.fullmatch(r"Meldungsdatum: \d\d\.\d\d\.\d{4}", line)),
        ("embargo", re.fullmatch(r"Sperrfrist: \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr", line)),
        ("count", re.fullmatch(r"Dieser Meldung (ist ein Foto|sind (zwei|drei|vier|fünf|sechs|sieben|acht|neun|"
                               r"zehn|elf|zwölf|\d\d+) Fotos) zugeordnet!", line)),
        ("contact", line.startswith("Pressekontakt: ")),
        ("notice", line == texts.photo_notice),
        ("caption", re.search(r"\S Foto: \S[^:]*$", line)),
        ("reuse", line == texts.reuse),
        ("membership", line == texts.membership),
        ("heading", line == boiler.heading + ":"),
        ("boilerplate", line == boiler.text),
    ]
    return next((kind for kind, hit in kinds if hit), "body")


def test_reference_structure(tmp_path: Path) -> None:
    root = write_site(tmp_path, {"2025-09-08-musikschule": REFERENCE_RELEASE}, config=REFERENCE_CONFIG)
    for name in ("urkunde.jpg", "orchester.jpg"):
        write_photo(root / "releases" / "2025-09-08-musikschule" / name, size=(60, 40))
    config, (release,) = load_site(root)
    text = render_email(release, config, {}, render_html(release.body)).text

    lines = text.split("\n")
    kinds = [classify(line, config) for line in lines]
    # the reference's pattern, with one caption line per photo (the reference has one photo, this has two)
    assert kinds == REFERENCE_KINDS[:9] + ["caption"] + REFERENCE_KINDS[9:]
    assert lines[0] == "Meldungsdatum: 08.09.2025"
    assert lines[5] == "Dieser Meldung sind zwei Fotos zugeordnet!"
    assert lines[6] == "Pressekontakt: Pressestelle, Jana Muster, Telefon 01234/5678"
    assert lines[8] == ("Stolz auf die Auszeichnung: Schulleiterin Anna Klang (r.) und Landrat Max Beispiel (l.). "
                        "Foto: Jana Muster/ Landkreis Beispielheim")
    assert lines[11] == ('Die Pressestelle " Landkreis Beispielheim" ist Mitglied bei presse-service.de '
                         '[ www.presse-service.de]. Dort können Sie Mitteilungen weiterer Pressestellen recherchieren '
                         'und als RSS-Feed oder E-Mail abonnieren.')
    assert lines[2].startswith("„Die Kreismusikschule ist die einzige Einrichtung im Land") and lines[2].endswith(
        "betont Landrat Max Beispiel.")
    # like the reference: UTF-8, no blank line, no line with outer spaces, no newline after the last line
    assert all(line and line == line.strip() for line in lines)
    assert not text.endswith("\n") and "\r" not in text


@pytest.mark.parametrize(("release_id", "count_line"), [
    ("2025-03-04-radweg", None),
    ("2025-05-12-ein-foto", "Dieser Meldung ist ein Foto zugeordnet!"),
    ("2025-06-02-zwei-fotos", "Dieser Meldung sind zwei Fotos zugeordnet!"),
    ("2025-07-01-dreizehn-fotos", "Dieser Meldung sind 13 Fotos zugeordnet!"),
])
def test_photo_count_line(site, release_id: str, count_line: str | None) -> None:
    config, releases = site
    lines = render(config, releases[release_id]).text.split("\n")
    counts = [line for line in lines if line.startswith("Dieser Meldung")]
    assert counts == ([count_line] if count_line else [])
    photos = releases[release_id].photos
    assert [line for line in lines if " Foto: " in line] == [f"{p.caption} Foto: {p.credit}" for p in photos]


def test_sections_in_order(site) -> None:
    config, releases = site
    lines = render(config, releases["2025-06-02-zwei-fotos"]).text.split("\n")
    assert lines[:2] == ["Meldungsdatum: 02.06.2025", "Sperrfrist: 02.06.2025, 11:00 Uhr"]
    assert [classify(line, config) for line in lines] == (
        ["date", "embargo"] + ["body"] * 7 + ["count", "contact", "notice", "caption", "caption", "reuse",
                                              "membership", "heading", "boilerplate"])


def test_contact_line_leaves_out_missing_parts(site) -> None:
    config, releases = site
    lines = render(config, releases["2025-05-12-ein-foto"]).text.split("\n")
    assert "Pressekontakt: Umweltamt, Jörg Grün" in lines


def test_empty_texts_leave_no_line(tmp_path: Path) -> None:
    bare = re.sub(r"\[texts\].*?\n\n|\[boilerplate\].*?\n\n", "", CONFIG, flags=re.S)
    root = write_site(tmp_path, {"2025-03-04-radweg": SIMPLE}, config=bare)
    config, (release,) = load_site(root)
    text = render_email(release, config, {}, render_html(release.body)).text
    assert text == ("Meldungsdatum: 04.03.2025\n"
                    "Der neue Radweg ist 4,2 Kilometer lang und verbindet die beiden Orte.\n"
                    "Bauzeit und Kosten\n"
                    "Die Bauarbeiten dauerten „nur“ sechs Monate.\n"
                    "Pressekontakt: Pressestelle, Jana Muster, Telefon 01234/5678")


def test_multiline_configured_texts_become_one_line_per_paragraph() -> None:
    assert text_lines("Erste Zeile\nzweite Zeile\n\nNeuer Absatz\n") == ["Erste Zeile zweite Zeile", "Neuer Absatz"]
    assert text_lines('Die Pressestelle " Kreis" ist [ www.x.de].') == ['Die Pressestelle " Kreis" ist [ www.x.de].']
    assert text_lines("") == []


# --- Markdown -> plain text ------------------------------------------------------------


@pytest.mark.parametrize(("markdown", "lines"), [
    ("Ein **fetter**, *kursiver* und `Code`-Text.", ["Ein fetter, kursiver und Code-Text."]),
    ("Mehr im [Bericht](https://x.example/b.pdf).", ["Mehr im Bericht [ https://x.example/b.pdf]."]),
    ("Siehe <https://x.example/a> und https://y.example/b", ["Siehe https://x.example/a und https://y.example/b"]),
    ("[https://x.example/](https://x.example/)", ["https://x.example/"]),
    ("Web: [www.x.example](https://www.x.example/)", ["Web: www.x.example"]),
    ("[Mail](mailto:a@x.example) oder <a@x.example>", ["Mail [ a@x.example] oder a@x.example"]),
    ("Relativ: [PDF](bericht.pdf), Anker: [oben](#oben)",
     ["Relativ: PDF [ https://presse.beispielheim.example/r/bericht.pdf], Anker: oben"]),
    ("A&amp;B &lt;tag&gt; &quot;q&quot; 10&nbsp;Uhr 5\u202fkm Null\u200bbreite\u00ad", ['A&B <tag> "q" 10 Uhr 5 km Nullbreite']),
    ("Zeile eins\nZeile zwei im selben Absatz", ["Zeile eins Zeile zwei im selben Absatz"]),
    ("# Titel\n\n### Unter *titel*", ["Titel", "Unter titel"]),
    ("- eins\n- zwei\n    - zwei a\n\n3. drei\n4. vier", ["• eins", "• zwei", "– zwei a", "3. drei", "4. vier"]),
    ("- Absatz eins\n\n    Absatz zwei\n\n- b", ["• Absatz eins", "Absatz zwei", "• b"]),
    ("| A | B |\n|---|---|\n| 1 | |\n| [x](https://x.example) | 2 |", ["A | B", "1 |", "x [ https://x.example] | 2"]),
    ("Text[^a].\n\n[^a]: Die Fußnote.", ["Text[1].", "[1] Die Fußnote."]),
    ("> Zitat\n> weiter", ["Zitat weiter"]),
    ("Erste  \nzweite", ["Erste", "zweite"]),
    ("```\ncode 1\n\n  code 2\n```", ["code 1", "code 2"]),
    ("<div>roh <script>alert(1)</script><b>fett</b></div>", ["roh fett"]),
    ("![Karte](karte.png)", ["Karte [ https://presse.beispielheim.example/r/karte.png]"]),
    ("Begriff\n:   Erklärung", ["Begriff", "Erklärung"]),
    ("oben\n\n***\n\nunten", ["oben", "unten"]),
])
def test_plain_text_lines(markdown: str, lines: list[str]) -> None:
    from pressekit.markup import absolutize
    assert html_to_lines(absolutize(render_html(markdown), BASE + "r/")) == lines


def test_blocks_group_lists_and_tables() -> None:
    html = render_html("Absatz\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\nEnde")
    assert html_to_blocks(html) == [["Absatz"], ["• a", "• b"], ["x | y", "1 | 2"], ["Ende"]]


@pytest.mark.parametrize(("text", "url", "shown"), [
    ("Bericht", "https://x.example/", "Bericht [ https://x.example/]"),
    ("https://x.example/", "https://x.example/", "https://x.example/"),
    ("", "https://x.example/", "https://x.example/"),
    ("Hotline", "tel:+4912345", "Hotline [ +4912345]"),
])
def test_link_text(text: str, url: str, shown: str) -> None:
    assert link_text(text, url) == shown


def test_no_markup_survives(site) -> None:
    config, releases = site
    for release in releases.values():
        text = render(config, release).text
        assert not re.search(r"<[a-z/]|&[a-z#0-9]+;|\*\*|\]\(|^#|\u00a0|\u200b", text, re.M), release.id
        assert "\n\n" not in text


# --- HTML e-mail -------------------------------------------------------------------------


@pytest.mark.parametrize("release_id", sorted(CASES))
def test_html_is_well_formed_and_self_contained(site, release_id: str) -> None:
    config, releases = site
    html = render(config, releases[release_id]).html
    tree = etree.fromstring(html.encode("utf-8"), etree.HTMLParser(recover=False))
    assert tree.xpath("//script | //link | //style") == []
    assert "max-width:640px" in html
    for attr in tree.xpath("//@href | //@src"):
        assert attr.startswith(("https://", "mailto:", "#")), attr


def test_html_photos_link_thumbnail_to_print_variant(site) -> None:
    config, releases = site
    tree = etree.fromstring(render(config, releases["2025-06-02-zwei-fotos"]).html.encode(), etree.HTMLParser())
    links = [(a.get("href"), a.find("img").get("src")) for a in tree.xpath("//a[img]")]
    assert links == [(f"{BASE}2025-06-02-zwei-fotos/photos/{stem}-print.jpg",
                      f"{BASE}2025-06-02-zwei-fotos/photos/{stem}-thumb.jpg") for stem in ("wache", "team")]
    text = " ".join(" ".join(tree.xpath("//body//text()")).split())
    assert "Die neue Rettungswache an der Hauptstraße. Foto: Jana Muster/ Landkreis Beispielheim" in text
    assert "Frei zur redaktionellen Verwendung" in text


def test_html_without_variants_links_the_original(site) -> None:
    config, releases = site
    release = releases["2025-05-12-ein-foto"]
    html = render_email(release, config, {}, render_html(release.body)).html
    assert f'<a href="{BASE}2025-05-12-ein-foto/labor.jpg"><img src="{BASE}2025-05-12-ein-foto/labor.jpg"' in html


# --- the MIME message --------------------------------------------------------------------

INTENDED = ["content-language", "content-type", "date", "from", "message-id", "mime-version", "subject"]


@pytest.mark.parametrize("release_id", sorted(CASES))
def test_message_parses_back(site, release_id: str) -> None:
    config, releases = site
    release = releases[release_id]
    parts = render(config, release)
    parsed = email.message_from_bytes(parts.message, policy=email.policy.default)
    assert sorted(k.lower() for k in parsed.keys()) == INTENDED
    prefix = "Sperrfrist 02.06.2025 11:00 Uhr: " if release.embargo else ""
    assert parsed["Subject"] == prefix + release.title
    assert parsed["From"].addresses[0].display_name == "Pressestelle Landkreis Beispielheim"
    assert parsed["From"].addresses[0].addr_spec == "presse@beispielheim.example"
    assert parsed["Message-ID"] == f"<{release_id}@presse.beispielheim.example>"
    assert parsed["Date"].datetime == release.published
    assert parsed["Content-Language"] == "de"
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.iter_parts()
    assert text.get_content_type() == "text/plain" and text.get_content_charset() == "utf-8"
    assert text.get_content() == parts.text
    assert html.get_content_type() == "text/html" and html.get_content() == parts.html
    etree.fromstring(html.get_content().encode("utf-8"), etree.HTMLParser(recover=False))
    assert max(len(line) for line in parts.message.split(b"\r\n")) <= 78
    assert parts.message.isascii()


def test_message_is_deterministic(site) -> None:
    config, releases = site
    release = releases["2025-06-02-zwei-fotos"]
    assert render(config, release) == render(config, release)
    other = render(config, releases["2025-05-12-ein-foto"]).message
    boundary = re.compile(rb'boundary="([^"]+)"')
    assert boundary.search(render(config, release).message)[1] != boundary.search(other)[1]


def test_long_paragraph_and_title_keep_lines_short(tmp_path: Path) -> None:
    long = "Sehr " + "langer " * 400 + "Absatz mit Umlauten äöü."
    root = write_site(tmp_path, {"2025-03-04-lang": f"---\ntitle: {'Überlänge ' * 60}Ende\ndate: 2025-03-04\n---\n{long}\n"},
                      config=CONFIG)
    config, (release,) = load_site(root)
    parts = render_email(release, config, {}, render_html(release.body))
    assert len(parts.text.split("\n")[1].encode()) > 2000
    assert max(len(line) for line in parts.message.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(parts.message, policy=email.policy.default)
    assert parsed["Subject"] == release.title
    assert next(parsed.iter_parts()).get_content() == parts.text


def test_send_headers(site) -> None:
    config, releases = site
    release = releases["2025-03-04-radweg"]
    parts = render(config, release)
    message = build_message(release, config, parts.text, parts.html, to="Redaktion Müller <mueller@zeitung.example>",
                            message_id="<2025-03-04-radweg.1@presse.beispielheim.example>",
                            extra_headers=[("List-Unsubscribe", "<mailto:presse@beispielheim.example?subject=Abmelden>")])
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert sorted(k.lower() for k in parsed.keys()) == sorted(INTENDED + ["to", "list-unsubscribe"])
    assert str(parsed["To"]) == "Redaktion Müller <mueller@zeitung.example>"
    assert parsed["Message-ID"] == "<2025-03-04-radweg.1@presse.beispielheim.example>"
    assert parsed["List-Unsubscribe"] == "<mailto:presse@beispielheim.example?subject=Abmelden>"


def test_sender_from_the_default_contact(site) -> None:
    config, _ = site
    assert sender_of(with_email(config, sender="")) == ("Pressestelle Landkreis Beispielheim",
                                                        "presse@beispielheim.example")
    with pytest.raises(HeaderError, match=r"^pressekit.toml: \[email\] from is not one e-mail address: 'kaputt'$"):
        sender_of(with_email(config, sender="kaputt"))
    no_mail = dataclasses.replace(config, contacts=(dataclasses.replace(config.contacts[0], email=""),))
    with pytest.raises(MailError, match="^the e-mail has no sender\n  hint: set \\[email\\] from"):
        sender_of(with_email(no_mail, sender=""))


def test_attached_photos_and_their_limit(site, tmp_path: Path) -> None:
    config, releases = site
    release = releases["2025-06-02-zwei-fotos"]
    variants = hand_made_variants(release)
    files = {}
    for made in variants.values():
        web = next(v for v in made if v.name == "web")
        files[web.relpath] = write_photo(tmp_path / Path(web.relpath).name, size=(80, 60))
    attach = with_email(config, attach_photos=True)
    parts = render_email(release, attach, variants, render_html(release.body), variant_files=files)
    parsed = email.message_from_bytes(parts.message, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    body, *photos = parsed.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [(p.get_filename(), p.get_content_type()) for p in photos] == [
        ("wache-web.jpg", "image/jpeg"), ("team-web.jpg", "image/jpeg")]
    assert photos[0].get_content() == files["2025-06-02-zwei-fotos/photos/wache-web.jpg"].read_bytes()
    assert "attach" not in render(config, release).message.decode()  # off by default

    tiny = with_email(config, attach_photos=True, attach_limit_mb=0.001)
    with pytest.raises(MailError) as info:
        render_email(release, tiny, variants, render_html(release.body), variant_files=files)
    assert re.fullmatch(r"2025-06-02-zwei-fotos: the photos to attach have 0\.0 MB together; \[email\] "
                        r"attach_limit_mb allows 0\.001 MB\n  hint: raise attach_limit_mb, or set "
                        r"attach_photos = false to send links only", str(info.value))


def test_find_release(site) -> None:
    _, releases = site
    found = list(releases.values())
    assert find_release(found, "2025-05-12-ein-foto").id == "2025-05-12-ein-foto"
    with pytest.raises(PressekitError) as info:
        find_release(found, "2025-05-12-ein-fto")
    assert str(info.value) == "no release with the id '2025-05-12-ein-fto'\n  hint: did you mean '2025-05-12-ein-foto'?"
    with pytest.raises(PressekitError, match="hint: the id is the folder name under releases/$"):
        find_release(found, "xyz")


# --- the header guard --------------------------------------------------------------------


def retitled(site, title: str) -> tuple[Config, Release, str, str]:
    config, releases = site
    release = dataclasses.replace(releases["2025-03-04-radweg"], title=title)
    return config, release, "Text", "<p>Text</p>"


def test_cve_2024_6923_payload_is_neutralised(site) -> None:
    # The title is written as encoded words, so the receiver decodes the literal text back: no line
    # break and no Bcc header can come out of it (the parse-back guard would refuse the message if it did).
    config, release, text, html = retitled(site, CVE_2024_6923)
    message = build_message(release, config, text, html)
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert "Bcc" not in parsed and b"\r\nBcc" not in message
    assert parsed["Subject"] == CVE_2024_6923
    assert sorted(k.lower() for k in parsed.keys()) == INTENDED


def test_guard_refuses_an_injected_header() -> None:
    # What the standard library's folder makes of the payload on Python 3.11.7 (msg["Subject"] = payload).
    injected = (b"From: a@b.example\r\nSubject: PM\r\nBcc: x@example.org\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: text/plain\r\n\r\nhi\r\n")
    intended = {"From": "a@b.example", "Subject": CVE_2024_6923, "MIME-Version": "1.0", "Content-Type": "text/plain"}
    with pytest.raises(HeaderError, match="^the message does not carry the intended headers: unexpected header bcc$"):
        check_headers(injected, intended)
    with pytest.raises(HeaderError, match="^the message's subject header reads 'PM', not 'PM=\\?UTF-8"):
        check_headers(injected.replace(b"Bcc: x@example.org\r\n", b""), intended)
    with pytest.raises(HeaderError, match="^line 2 of the message has 1001 octets; the limit is 998$"):
        check_headers(b"From: a@b.example\r\nSubject: " + b"x" * 992 + b"\r\n\r\n", {})


@pytest.mark.parametrize("breaker", ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b"])
def test_line_breaks_in_headers_are_refused(site, breaker: str) -> None:
    config, release, text, html = retitled(site, f"PM{breaker}Bcc: x@example.org")
    with pytest.raises(HeaderError, match=r"^releases/2025-03-04-radweg/index.md: Subject: contains U\+00"
                                          r"|^releases/2025-03-04-radweg/index.md: Subject: contains U\+202"):
        build_message(release, config, text, html)
    config, release, text, html = retitled(site, "Titel")
    with pytest.raises(HeaderError, match="^the recipient: contains U\\+"):
        build_message(release, config, text, html, to=f"a@b.example{breaker}Bcc: x@example.org")
    with pytest.raises(HeaderError, match="^List-Id: contains U\\+"):
        build_message(release, config, text, html, extra_headers=[("List-Id", f"<a>{breaker}Bcc: x@example.org")])


def test_extra_headers_cannot_replace_intended_ones(site) -> None:
    config, release, text, html = retitled(site, "Titel")
    with pytest.raises(HeaderError, match="^the header subject would be given twice$"):
        build_message(release, config, text, html, extra_headers=[("subject", "Anders")])
    with pytest.raises(HeaderError, match="^'Bcc: x' is not a header name$"):
        build_message(release, config, text, html, extra_headers=[("Bcc: x", "y")])


def valid_title(text: str) -> bool:
    """What release validation accepts as a title: one stripped line without control characters."""
    return bool(text) and text == text.strip() and not CONTROL.search(text) and not LINE_BREAKS.search(text)


TITLES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120).map(str.strip).filter(valid_title)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=TITLES)
@example(title=CVE_2024_6923)
@example(title="=?utf-8?b?QmNjOiB4QGV4YW1wbGUub3Jn?=")
@example(title="a  b\tc (Kommentar) \"zitiert\" =? ?= _ \\")
@example(title="x" * 1200)
@example(title="Überlänge " * 40)
def test_any_valid_title_is_exactly_one_subject(site, title: str) -> None:
    config, release, text, html = retitled(site, title)
    message = build_message(release, config, text, html)
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert sorted(k.lower() for k in parsed.keys()) == INTENDED
    assert parsed.get_all("Subject") == [title]
    assert max(len(line) for line in message.split(b"\r\n")) <= 78


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=TITLES)
@example(name="=?utf-8?q?a=0A?= Bcc")
@example(name='Anna "Nanni" Müller, Redaktion')
@example(name="Redaktion Westfälischer Anzeiger Lokalredaktion Südheim und Umgebung")
@example(name="y" * 100)
def test_no_recipient_name_adds_a_header(site, name: str) -> None:
    # A name is written correctly or refused (HeaderError), never turned into another header.
    config, release, text, html = retitled(site, "Titel")
    try:
        message = build_message(release, config, text, html,
                                to=email.utils.formataddr((name, "r@zeitung.example"), charset="utf-8"))
    except HeaderError:
        return
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert sorted(k.lower() for k in parsed.keys()) == sorted(INTENDED + ["to"])
    assert [a.addr_spec for a in parsed["To"].addresses] == ["r@zeitung.example"]


@pytest.mark.parametrize("name", ["Jörg Grün", "Redaktion Westfälischer Anzeiger Lokalredaktion Südheim und Umgebung",
                                  'Anna "Nanni" Müller, Redaktion', "Zeitung (Lokales) <Süd>"])
def test_recipient_names_survive(site, name: str) -> None:
    config, release, text, html = retitled(site, "Titel")
    message = build_message(release, config, text, html,
                            to=email.utils.formataddr((name, "r@zeitung.example"), charset="utf-8"))
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert parsed["To"].addresses[0].display_name == name
