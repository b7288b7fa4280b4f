"""Pages that share and index well: og:image on every page, an image and an author in every NewsArticle,
robots.txt, a news sitemap that is valid or absent, a noindex 404 and a JSON Feed with icon and authors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from lxml import etree, html

from pressekit.cli import main
from sitekit import CONFIG, SIMPLE, write_photo, write_release, write_site

BASE = "https://presse.beispielheim.example/"
WITH_PHOTO = """\
---
title: Neues Löschfahrzeug für die Feuerwehr
date: 2025-05-30T10:00:00+02:00
contact: umwelt
photos:
  - file: wagen.jpg
    caption: Das neue Fahrzeug vor dem Gerätehaus.
    credit: Jana Muster/ Landkreis Beispielheim
    alt: Ein rotes Feuerwehrauto
---
Das Fahrzeug ist einsatzbereit.
"""
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "n": "http://www.google.com/schemas/sitemap-news/0.9"}


def build(root: Path, now: str) -> None:
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", now])
    assert result.exit_code == 0, result.output


def share_site(root: Path) -> Path:
    write_site(root, {"2025-03-04-radweg": SIMPLE},
               config=CONFIG.replace('dateline = "Beispielheim"', 'dateline = "Beispielheim"\nimage = "teilen.png"'))
    write_photo(root / "teilen.png", size=(1200, 630), fmt="PNG")
    write_photo(write_release(root, "2025-05-30-loeschfahrzeug", WITH_PHOTO) / "wagen.jpg", size=(900, 600))
    return root


def json_ld(page: html.HtmlElement) -> dict:
    return json.loads(page.xpath("//script[@type='application/ld+json']/text()")[0])


def test_every_page_has_og_image_and_every_article_a_picture_and_an_author(tmp_path: Path) -> None:
    root = share_site(tmp_path / "site")
    build(root, "2025-06-01T12:00:00+02:00")
    assert (root / "output" / "assets" / "teilen.png").read_bytes() == (root / "teilen.png").read_bytes()
    pages = [p for p in sorted((root / "output").rglob("*.html")) if not p.name.startswith("email")]
    assert len(pages) >= 8
    for path in pages:
        page = html.fromstring(path.read_bytes())
        assert page.xpath("//meta[@property='og:image']/@content"), path
    radweg = html.fromstring((root / "output" / "2025-03-04-radweg" / "index.html").read_bytes())
    assert radweg.xpath("//meta[@property='og:image']/@content") == [BASE + "assets/teilen.png"]
    assert json_ld(radweg)["image"] == [{"@type": "ImageObject", "contentUrl": BASE + "assets/teilen.png",
                                         "url": BASE + "assets/teilen.png"}]
    assert json_ld(radweg)["author"] == {
        "@type": "Person", "name": "Jana Muster",
        "worksFor": {"@type": "GovernmentOrganization", "name": "Pressestelle, Landkreis Beispielheim", "url": BASE}}
    wagen = html.fromstring((root / "output" / "2025-05-30-loeschfahrzeug" / "index.html").read_bytes())
    assert wagen.xpath("//meta[@property='og:image']/@content") == [BASE + "2025-05-30-loeschfahrzeug/photos/wagen-web.jpg"]
    assert json_ld(wagen)["image"][0]["contentUrl"] == BASE + "2025-05-30-loeschfahrzeug/photos/wagen-web.jpg"
    assert json_ld(wagen)["author"]["name"] == "Jörg Grün"


def test_an_office_without_a_named_person_is_the_author(tmp_path: Path) -> None:
    config = CONFIG.replace('name = "Jana Muster"\n', "")
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE}, config=config)
    build(root, "2025-06-01T12:00:00+02:00")
    page = html.fromstring((root / "output" / "2025-03-04-radweg" / "index.html").read_bytes())
    assert json_ld(page)["author"] == {"@type": "GovernmentOrganization",
                                       "name": "Pressestelle, Landkreis Beispielheim", "url": BASE}
    assert "image" not in json_ld(page)  # nothing to show, and no empty list either


def test_news_sitemap_is_valid_while_a_release_is_new_and_absent_after(tmp_path: Path) -> None:
    root = share_site(tmp_path / "site")
    build(root, "2025-05-31T12:00:00+02:00")
    news = etree.parse(str(root / "output" / "news-sitemap.xml"))
    assert news.xpath("/s:urlset/s:url/s:loc/text()", namespaces=SITEMAP_NS) == [BASE + "2025-05-30-loeschfahrzeug/"]
    assert news.xpath("//n:news/n:publication/n:name/text()", namespaces=SITEMAP_NS) == ["Landkreis Beispielheim"]
    assert (root / "output" / "robots.txt").read_text() == (
        f"User-agent: *\nAllow: /\n\nSitemap: {BASE}sitemap.xml\nSitemap: {BASE}news-sitemap.xml\n")
    build(root, "2025-06-03T12:00:00+02:00")  # the two-day window has passed
    assert not (root / "output" / "news-sitemap.xml").exists()
    assert (root / "output" / "robots.txt").read_text() == f"User-agent: *\nAllow: /\n\nSitemap: {BASE}sitemap.xml\n"


def test_404_is_not_indexed(tmp_path: Path) -> None:
    root = share_site(tmp_path / "site")
    build(root, "2025-06-01T12:00:00+02:00")
    page = html.fromstring((root / "output" / "404.html").read_bytes())
    assert page.xpath("//meta[@name='robots']/@content") == ["noindex"]


def test_json_feed_has_icon_favicon_and_authors(tmp_path: Path) -> None:
    root = share_site(tmp_path / "site")
    build(root, "2025-06-01T12:00:00+02:00")
    feed = json.loads((root / "output" / "feed.json").read_text())
    assert feed["icon"] == BASE + "assets/teilen.png"
    assert feed["favicon"] == BASE + "assets/favicon.svg"
    assert feed["authors"] == [{"name": "Landkreis Beispielheim", "url": BASE}]


def test_a_site_image_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    config = CONFIG.replace('dateline = "Beispielheim"', 'dateline = "Beispielheim"\nimage = "fehlt.png"')
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE}, config=config)
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", "2025-06-01T12:00:00+02:00"])
    assert result.exit_code == 1
    assert result.output == (
        "pressekit.toml:8: [site] image 'fehlt.png' is not a JPEG or PNG file in the site folder\n"
        "  hint: give a path relative to pressekit.toml, e.g. \"teilen.png\" (at least 1200 × 630 pixels)\n"
        "1 problem found; nothing was written.\n")
    assert not (root / "output").exists()
