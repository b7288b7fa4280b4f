"""[email] links = true: the e-mail an editor can act on (Unterzeile, contact e-mail, links to page, ZIP, files)."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from lxml import etree

from pressekit.cli import main
from pressekit.config import Config
from pressekit.mail import render_email
from pressekit.markup import render_html
from pressekit.model import Release, Variant
from pressekit.releases import load_site
from sitekit import CONFIG, SIMPLE, write_photo, write_site

BASE = "https://presse.beispielheim.example/"
PDF_SIZE = 1_258_291  # "1,2 MB"

HAUSHALT = '''\
---
title: Kreistag berät den Haushalt 2026
subtitle: Investitionen in Schulen und Radwege
date: 2025-11-12
photos:
  - file: kreistag.jpg
    caption: Der Kreistag in seiner Sitzung am Mittwoch.
    credit: Jana Muster/ Landkreis Beispielheim
    alt: Ein Sitzungssaal mit rund sechzig Personen an langen Tischen, vorne das Präsidium vor einer Fahnenwand
attachments:
  - file: eckdaten.pdf
    title: Eckdaten Haushalt 2026
  - file: rede.pdf
    title: Rede des Landrats
---
Der Entwurf sieht Investitionen von 48 Millionen Euro vor.
'''
CASES = {"2025-03-04-radweg": SIMPLE, "2025-11-12-haushalt": HAUSHALT}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, dict[str, Release]]:
    root = write_site(tmp_path_factory.mktemp("site"), CASES,
                      config=CONFIG.replace("[email]\n", '[send]\nunsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"\n\n[email]\n'))
    folder = root / "releases" / "2025-11-12-haushalt"
    write_photo(folder / "kreistag.jpg", size=(60, 40))
    (folder / "eckdaten.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * (PDF_SIZE - 9))
    (folder / "rede.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * 40_000)
    config, releases = load_site(root)
    return config, {r.id: r for r in releases}


def variants(release: Release) -> dict[tuple[str, str], tuple[Variant, ...]]:
    return {(release.id, p.file): tuple(Variant(name, f"{release.id}/photos/{p.stem}-{name}.jpg", width, width * 2 // 3,
                                                width * 40)
                                        for name, width in (("thumb", 200), ("web", 400), ("print", 800)))
            for p in release.photos}


def render(config: Config, release: Release):
    return render_email(release, config, variants(release), render_html(release.body))


@pytest.mark.parametrize("release_id", sorted(CASES))
def test_linked_email_goldens(site, golden, release_id: str) -> None:
    config, releases = site
    parts = render(config, releases[release_id])
    golden(f"mail-links/{release_id}/email.txt", parts.text)
    golden(f"mail-links/{release_id}/email.html", parts.html)


def test_text_part_gives_an_editor_every_link(site) -> None:
    config, releases = site
    lines = render(config, releases["2025-11-12-haushalt"]).text.split("\n")
    assert lines[:3] == ["Meldungsdatum: 12.11.2025", "Investitionen in Schulen und Radwege",
                         "Der Entwurf sieht Investitionen von 48 Millionen Euro vor."]
    assert "Pressekontakt: Pressestelle, Jana Muster, Telefon 01234/5678, E-Mail presse@beispielheim.example" in lines
    assert lines[-4:] == [
        f"Meldung online: {BASE}2025-11-12-haushalt/",
        f"Fotos in Druckqualität (ZIP): {BASE}2025-11-12-haushalt/fotos.zip",
        f"Eckdaten Haushalt 2026 (PDF, 1,2 MB): {BASE}2025-11-12-haushalt/eckdaten.pdf",
        f"Rede des Landrats (PDF, 39 KB): {BASE}2025-11-12-haushalt/rede.pdf",
    ]
    assert lines[-5] == "Die Kreisverwaltung Beispielheim mit rund 900 Bediensteten arbeitet für rund 180.000 " \
                        "Einwohnerinnen und Einwohner."


def test_without_photos_there_is_no_zip_line(site) -> None:
    config, releases = site
    text = render(config, releases["2025-03-04-radweg"]).text
    assert text.endswith(f"\nMeldung online: {BASE}2025-03-04-radweg/")
    assert "ZIP" not in text


def test_html_part_links_the_same_and_survives_blocked_images(site) -> None:
    config, releases = site
    html = render(config, releases["2025-11-12-haushalt"]).html
    tree = etree.fromstring(html.encode("utf-8"), etree.HTMLParser())
    links = tree.xpath("//a/@href")
    for url in (f"{BASE}2025-11-12-haushalt/", f"{BASE}2025-11-12-haushalt/fotos.zip",
                f"{BASE}2025-11-12-haushalt/eckdaten.pdf", f"{BASE}2025-11-12-haushalt/rede.pdf",
                f"{BASE}2025-11-12-haushalt/photos/kreistag-print.jpg",
                "mailto:presse@beispielheim.example?subject=Abmelden"):
        assert url in links
    [img] = tree.xpath("//img")
    # a blocked image leaves a sized grey box with a short, not underlined label
    assert (img.get("width"), img.get("height")) == ("200", "133")
    assert img.get("alt") == "Ein Sitzungssaal mit rund sechzig Personen an langen…"
    assert "text-decoration:none" in img.getparent().get("style")
    assert "background-color:#e6e6e6" in img.get("style")
    footer = tree.xpath("//td[contains(., 'Presseverteiler')]")[-1]
    assert " ".join(footer.xpath("string()").split()) == (
        "Sie erhalten diese E-Mail als Redaktion im Presseverteiler von Landkreis Beispielheim. "
        "Abmelden: presse@beispielheim.example")


def test_links_false_is_the_press_service_layout(site) -> None:
    import dataclasses
    config, releases = site
    plain = dataclasses.replace(config, email=dataclasses.replace(config.email, links=False))
    text = render(plain, releases["2025-11-12-haushalt"]).text
    assert "Investitionen in Schulen" not in text and "Meldung online" not in text and "E-Mail" not in text
    assert "Pressekontakt: Pressestelle, Jana Muster, Telefon 01234/5678\n" in text


def test_links_must_be_true_or_false(tmp_path: Path) -> None:
    write_site(tmp_path, {}, config=CONFIG + 'links = "ja"\n')
    result = CliRunner().invoke(main, ["check", "--site", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == ("pressekit.toml:47: error: [email] links must be true or false, not 'ja'\n\n"
                             "0 releases checked: 1 error, 0 warnings.\n")


def test_build_writes_attachments_into_every_feed(site, tmp_path: Path) -> None:
    config, _ = site
    result = CliRunner().invoke(main, ["build", "--site", str(config.root), "--now", "2025-11-20T10:00:00+01:00",
                                       "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    pdf = f"{BASE}2025-11-12-haushalt/eckdaten.pdf"
    atom = feedparser.parse((out / "atom.xml").read_bytes())
    [entry] = [e for e in atom.entries if e.id.endswith("haushalt/")]
    enclosures = {link.href: link for link in entry.links if link.rel == "enclosure"}
    assert enclosures[pdf].type == "application/pdf" and enclosures[pdf].length == str(PDF_SIZE)
    assert enclosures[pdf].title == "Eckdaten Haushalt 2026"
    items = json.loads((out / "feed.json").read_text("utf-8"))["items"]
    [item] = [i for i in items if i["id"].endswith("haushalt/")]
    assert {"url": pdf, "mime_type": "application/pdf", "title": "Eckdaten Haushalt 2026",
            "size_in_bytes": PDF_SIZE} in item["attachments"]
    assert (out / "2025-11-12-haushalt" / "email.txt").read_text("utf-8").endswith(
        f"Rede des Landrats (PDF, 39 KB): {BASE}2025-11-12-haushalt/rede.pdf")


def test_rss_encloses_the_attachment_of_a_release_without_photos(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-11-12-haushalt": HAUSHALT.split("photos:")[0] + "attachments:"
                                          + HAUSHALT.split("attachments:")[1]})
    (root / "releases" / "2025-11-12-haushalt" / "eckdaten.pdf").write_bytes(b"%PDF-1.4\n")
    (root / "releases" / "2025-11-12-haushalt" / "rede.pdf").write_bytes(b"%PDF-1.4\n")
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", "2025-11-20T10:00:00+01:00"])
    assert result.exit_code == 0, result.output
    rss = feedparser.parse((root / "output" / "feed.xml").read_bytes())
    assert [(e.href, e.type, e.length) for e in rss.entries[0].enclosures] == [
        (f"{BASE}2025-11-12-haushalt/eckdaten.pdf", "application/pdf", "9")]
