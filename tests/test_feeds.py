"""Feeds read back the way feed readers read them: feedparser for RSS/Atom, lxml for XML, json for JSON Feed."""

from __future__ import annotations

import dataclasses
import html
import io
import json
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pressekit import feeds
from pressekit.config import Config, VariantSpec
from pressekit.markup import absolutize, render_html
from pressekit.model import Release, Variant, public_releases
from pressekit.releases import load_site
from pressekit.text import CONTROL, LINE_BREAKS
from sitekit import write_photo, write_site

NOW = datetime.fromisoformat("2025-07-03T12:00:00+02:00")
BASE = "https://presse.beispielheim.example/"
RADWEG, SOMMERFEST, KREISHAUS = "2025-03-04-radweg", "2025-07-01-sommerfest", "2025-07-02-kreishaus"
NS = {"atom": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/",
      "content": "http://purl.org/rss/1.0/modules/content/",
      "sm": "http://www.sitemaps.org/schemas/sitemap/0.9", "news": "http://www.google.com/schemas/sitemap-news/0.9"}

RELEASES = {
    RADWEG: """
        ---
        title: Kreis eröffnet neuen Radweg zwischen Nordstadt und Südheim
        date: 2025-03-04
        subtitle: 4,2 Kilometer für den Alltagsradverkehr
        tags: [Verkehr, umwelt]
        ---
        Der neue Radweg ist 4,2 Kilometer lang und verbindet die beiden Orte.

        ## Bauzeit und Kosten

        Die Bauarbeiten dauerten „nur“ sechs Monate. ![Plan](plan.png)
        """,
    SOMMERFEST: """
        ---
        title: Sommerfest im Kreispark mit 3.000 Gästen
        date: 2025-07-01T14:00:00+02:00
        tags: [Umwelt, "Kultur & Freizeit"]
        photos:
          - file: buehne.jpg
            caption: Die Band „Kreisklasse“ auf der Bühne.
            credit: Anna Beispiel/ Landkreis Beispielheim
            alt: Eine Band spielt auf einer Freilichtbühne
          - file: kinder fest.png
            caption: Kinder beim Dosenwerfen & Basteln.
            credit: Ben Foto
            alt: Kinder an einem Spielstand
            rights: frei
          - file: landrat.jpg
            caption: Landrat Dr. Muster eröffnet das Fest.
            credit: Clara Credit/ Landkreis Beispielheim
            alt: Ein Mann spricht in ein Mikrofon
        ---
        Rund 3.000 Gäste feierten am Samstag im Kreispark.
        """,
    KREISHAUS: """
        ---
        title: Kreishaus „Am Markt“ öffnet wieder – Bürgerservice & Zulassung
        date: 2025-07-02
        embargo: 2025-07-02T09:30:00+02:00
        updated: 2025-07-03T09:00:00+02:00
        subtitle: Nach 14 Monaten Umbau
        summary: 'Bürgerservice & Zulassung sind wieder da – für Anliegen <unter> 5 Minuten ("Express") ]]>'
        tags: [Bürgerservice]
        contact: umwelt
        photos:
          - file: kreishaus.jpg
            caption: Das sanierte Kreishaus am Markt.
            credit: Max Mustermann/ Landkreis Beispielheim
            alt: Ein dreistöckiges Backsteingebäude
        ---
        Die Sanierung kostete 3,2 Mio. Euro, siehe [Radweg](../2025-03-04-radweg/).
        """,
    "2025-07-03-haushalt": """
        ---
        title: Haushaltsentwurf 2026 vorgelegt
        date: 2025-07-03
        embargo: 2025-07-04T10:00:00+02:00
        tags: [Umwelt]
        ---
        Unter Sperrfrist.
        """,
    "2025-06-30-entwurf": """
        ---
        title: Noch nicht fertig
        date: 2025-06-30
        draft: true
        tags: [Umwelt]
        ---
        Entwurf.
        """,
    "2025-07-10-zukunft": """
        ---
        title: Kommt erst noch
        date: 2025-07-10
        tags: [Umwelt]
        ---
        Zukunft.
        """,
}
HIDDEN = ("2025-07-03-haushalt", "2025-06-30-entwurf", "2025-07-10-zukunft")
PHOTOS = {SOMMERFEST: ("buehne.jpg", "kinder fest.png", "landrat.jpg"), KREISHAUS: ("kreishaus.jpg",)}
CREDITS = {SOMMERFEST: ["Anna Beispiel/ Landkreis Beispielheim", "Ben Foto", "Clara Credit/ Landkreis Beispielheim"],
           KREISHAUS: ["Max Mustermann/ Landkreis Beispielheim"], RADWEG: []}


def made(release_id: str, file: str, n: int) -> tuple[Variant, ...]:
    """The variants the photo stage would make for the test config (thumb/web burn, print metadata)."""
    stem = Path(file).stem
    return tuple(Variant(name, f"{release_id}/photos/{stem}-{name}.jpg", width, width * 2 // 3, 1000 * width + n)
                 for name, width in (("thumb", 200), ("web", 400), ("print", 800)))


VARIANTS = {(rid, file): made(rid, file, n) for rid, files in PHOTOS.items() for n, file in enumerate(files)}


@dataclasses.dataclass
class Site:
    config: Config
    all: list[Release]
    public: list[Release]

    def render(self, variants=VARIANTS, now: datetime = NOW, releases: list[Release] | None = None) -> dict[str, bytes]:
        out = feeds.render_feeds(self.public if releases is None else releases, self.config, variants,
                                 lambda r: render_html(r.body), now)
        return {f.relpath: f.read() for f in out}


def make_site(root: Path, config_extra: str = "") -> Site:
    from sitekit import CONFIG
    write_site(root, RELEASES, CONFIG + config_extra)
    for rid, files in PHOTOS.items():
        for file in files:
            write_photo(root / "releases" / rid / file, (300, 200), fmt="PNG" if file.endswith(".png") else "JPEG")
    config, releases = load_site(root)
    return Site(config, releases, public_releases(releases, NOW))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("site"))


def parse(data: bytes, **options) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(io.BytesIO(data), **options)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def rss_title(entry) -> str:
    """An RSS title as a reader shows it: feedparser says whether it took it for text or HTML."""
    return html.unescape(entry.title) if entry.title_detail.type == "text/html" else entry.title


# --- RSS ----------------------------------------------------------------------------------------


def test_rss_channel(site: Site) -> None:
    d = parse(site.render()["feed.xml"])
    assert d.version == "rss20"
    assert d.feed.title == "Pressemitteilungen des Landkreises Beispielheim"
    assert d.feed.link == BASE
    assert [(link.rel, link.href) for link in d.feed.links] == [("alternate", BASE), ("self", BASE + "feed.xml")]
    assert d.feed.generator == "pressekit"
    assert d.feed.language == "de"
    assert d.feed.updated == "Thu, 03 Jul 2025 09:00:00 +0200"  # the newest correction, not the clock
    assert [e.id for e in d.entries] == [BASE + KREISHAUS + "/", BASE + SOMMERFEST + "/", BASE + RADWEG + "/"]


def test_rss_items(site: Site) -> None:
    kreishaus, sommerfest, radweg = parse(site.render()["feed.xml"]).entries
    assert rss_title(kreishaus) == "Kreishaus „Am Markt“ öffnet wieder – Bürgerservice & Zulassung"
    assert kreishaus.link == kreishaus.id == BASE + KREISHAUS + "/"
    guid = etree.fromstring(site.render()["feed.xml"]).find("channel/item/guid")
    assert (guid.text, guid.get("isPermaLink")) == (BASE + KREISHAUS + "/", "true")
    assert html.unescape(kreishaus.summary) == (
        'Bürgerservice & Zulassung sind wieder da – für Anliegen <unter> 5 Minuten ("Express") ]]>')
    assert kreishaus.published == "Wed, 02 Jul 2025 09:30:00 +0200"  # the embargo lift, not the date
    assert kreishaus.updated == "2025-07-03T09:00:00+02:00"
    assert radweg.published == "Tue, 04 Mar 2025 00:00:00 +0100"
    assert radweg.updated == "2025-03-04T00:00:00+01:00"
    assert kreishaus.author == "umwelt@beispielheim.example (Jörg Grün)"
    assert radweg.author == "presse@beispielheim.example (Jana Muster)"
    assert [t.term for t in sommerfest.tags] == ["Umwelt", "Kultur & Freizeit"]
    assert [t.scheme for t in sommerfest.tags] == [BASE + "themen/umwelt/", BASE + "themen/kultur-freizeit/"]
    assert [t.term for t in radweg.tags] == ["Verkehr", "umwelt"]


def test_rss_content_has_subtitle_absolute_urls_and_credited_figures(site: Site) -> None:
    kreishaus, sommerfest, radweg = parse(site.render()["feed.xml"]).entries
    body = kreishaus.content[0].value
    assert body.startswith("<p><strong>Nach 14 Monaten Umbau</strong></p>")
    assert f'<a href="{BASE}{RADWEG}/">Radweg</a>' in body
    assert "Das sanierte Kreishaus am Markt. Foto: Max Mustermann/ Landkreis Beispielheim" in body
    assert f'src="{BASE}{RADWEG}/plan.png"' in radweg.content[0].value
    figures = sommerfest.content[0].value.count("<figure>")
    assert figures == 3 and "Kinder beim Dosenwerfen &amp; Basteln. Foto: Ben Foto" in sommerfest.content[0].value


def test_rss_enclosure_is_the_first_photos_web_variant(site: Site) -> None:
    kreishaus, sommerfest, radweg = parse(site.render()["feed.xml"]).entries
    assert [(e.href, e.length, e.type) for e in sommerfest.enclosures] == [
        (BASE + SOMMERFEST + "/photos/buehne-web.jpg", "400000", "image/jpeg")]
    assert [(e.href, e.length) for e in kreishaus.enclosures] == [(BASE + KREISHAUS + "/photos/kreishaus-web.jpg", "400000")]
    assert radweg.enclosures == []


def test_rss_media_carries_every_credit_caption_and_rights(site: Site) -> None:
    data = site.render()["feed.xml"]
    kreishaus, sommerfest, radweg = parse(data).entries
    for entry, rid in ((kreishaus, KREISHAUS), (sommerfest, SOMMERFEST)):
        assert [c["content"] for c in entry.media_credit] == CREDITS[rid]
        assert {(c["role"], c["scheme"]) for c in entry.media_credit} == {("photographer", "urn:ebu")}
        assert entry.media_copyright == "© Landkreis Beispielheim"
    assert kreishaus.media_license == {"type": "text/html", "href": BASE + "nutzungsbedingungen/",
                                       "content": "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung"}
    assert [(m["url"], m["width"], m["height"], m["type"], m["filesize"], m.get("isdefault")) for m in sommerfest.media_content[:3]] == [
        (BASE + SOMMERFEST + "/photos/buehne-thumb.jpg", "200", "133", "image/jpeg", "200000", None),
        (BASE + SOMMERFEST + "/photos/buehne-web.jpg", "400", "266", "image/jpeg", "400000", "true"),
        (BASE + SOMMERFEST + "/photos/buehne-print.jpg", "800", "533", "image/jpeg", "800000", None),
    ]
    assert sommerfest.media_content[4]["url"] == BASE + SOMMERFEST + "/photos/kinder%20fest-web.jpg"
    assert len(sommerfest.media_content) == 9
    assert "media_credit" not in radweg
    # feedparser keeps only the last media:description, so every caption is checked in the XML itself
    channel = etree.fromstring(data).find("channel")
    groups = channel.findall("item")[1].findall("media:group", NS)
    assert [g.findtext("media:description", namespaces=NS) for g in groups] == [
        "Die Band „Kreisklasse“ auf der Bühne.", "Kinder beim Dosenwerfen & Basteln.",
        "Landrat Dr. Muster eröffnet das Fest."]
    assert [g.findtext("media:title", namespaces=NS) for g in groups][0] == "Eine Band spielt auf einer Freilichtbühne"
    licenses = [g.find("media:license", NS) for g in groups]
    assert [(x.get("href"), x.text) for x in licenses][1] == (None, "Frei zur redaktionellen Verwendung")


def test_without_variants_the_originals_are_linked(site: Site) -> None:
    files = site.render(variants={})
    sommerfest = parse(files["feed.xml"]).entries[1]
    folder = site.config.root / "releases" / SOMMERFEST
    sizes = [str((folder / f).stat().st_size) for f in PHOTOS[SOMMERFEST]]
    assert [(e.href, e.length, e.type) for e in sommerfest.enclosures] == [
        (BASE + SOMMERFEST + "/buehne.jpg", sizes[0], "image/jpeg")]
    assert [(m["url"], m["filesize"], m["type"]) for m in sommerfest.media_content] == [
        (BASE + SOMMERFEST + "/buehne.jpg", sizes[0], "image/jpeg"),
        (BASE + SOMMERFEST + "/kinder%20fest.png", sizes[1], "image/png"),
        (BASE + SOMMERFEST + "/landrat.jpg", sizes[2], "image/jpeg")]
    assert all("width" not in m and "height" not in m for m in sommerfest.media_content)
    item = json.loads(files["feed.json"])["items"][1]
    assert item["_pressekit"]["photos"][1]["variants"] == [
        {"name": "original", "url": BASE + SOMMERFEST + "/kinder%20fest.png", "mime_type": "image/png",
         "size_in_bytes": int(sizes[1])}]


def test_photos_with_and_without_variants_in_one_build(site: Site) -> None:
    variants = {key: value for key, value in VARIANTS.items() if key[0] == SOMMERFEST}
    kreishaus, sommerfest, _ = parse(site.render(variants=variants)["feed.xml"]).entries
    assert kreishaus.enclosures[0].href == BASE + KREISHAUS + "/kreishaus.jpg"
    assert sommerfest.enclosures[0].href == BASE + SOMMERFEST + "/photos/buehne-web.jpg"


@pytest.mark.parametrize("specs, expected", [
    ((("thumb", 200, "burn"), ("web", 400, "burn"), ("print", 800, "metadata")), "web"),
    ((("klein", 200, "burn"), ("gross", 600, "burn"), ("druck", 1600, "metadata")), "gross"),
    ((("druck", 1600, "metadata"), ("mittel", 900, "metadata")), "mittel"),
])
def test_web_variant(site: Site, specs, expected) -> None:
    config = dataclasses.replace(site.config, variants=tuple(VariantSpec(n, w, c, 85) for n, w, c in specs))
    variants = tuple(Variant(n, f"x/photos/a-{n}.jpg", w, w, w) for n, w, _ in specs)
    picked = config.roles.pick(variants)
    assert picked is not None and picked.web.name == expected


# --- Atom ---------------------------------------------------------------------------------------


def test_atom(site: Site) -> None:
    d = parse(site.render()["atom.xml"])
    assert d.version == "atom10"
    assert d.feed.id == BASE + "atom.xml"
    assert d.feed.title == "Pressemitteilungen des Landkreises Beispielheim"
    assert d.feed.updated == "2025-07-03T09:00:00+02:00"
    assert d.feed.generator == "pressekit" and "version" not in d.feed.generator_detail
    assert [(link.rel, link.href) for link in d.feed.links] == [("self", BASE + "atom.xml"), ("alternate", BASE)]
    kreishaus, sommerfest, radweg = d.entries
    assert kreishaus.id == kreishaus.link == BASE + KREISHAUS + "/"
    assert kreishaus.title == "Kreishaus „Am Markt“ öffnet wieder – Bürgerservice & Zulassung"
    assert kreishaus.summary == 'Bürgerservice & Zulassung sind wieder da – für Anliegen <unter> 5 Minuten ("Express") ]]>'
    assert kreishaus.published == "2025-07-02T09:30:00+02:00"
    assert kreishaus.updated == "2025-07-03T09:00:00+02:00"
    assert radweg.published == radweg.updated == "2025-03-04T00:00:00+01:00"
    assert kreishaus.content[0].type == "text/html"
    assert kreishaus.author_detail == {"name": "Jörg Grün", "email": "umwelt@beispielheim.example"}
    assert [t.term for t in sommerfest.tags] == ["Umwelt", "Kultur & Freizeit"]
    enclosures = [(link.href, link.length, link.type, link.title) for link in sommerfest.links if link.rel == "enclosure"]
    assert enclosures == [
        (BASE + SOMMERFEST + "/photos/buehne-web.jpg", "400000", "image/jpeg",
         "Die Band „Kreisklasse“ auf der Bühne. Foto: Anna Beispiel/ Landkreis Beispielheim"),
        (BASE + SOMMERFEST + "/photos/kinder%20fest-web.jpg", "400001", "image/jpeg",
         "Kinder beim Dosenwerfen & Basteln. Foto: Ben Foto"),
        (BASE + SOMMERFEST + "/photos/landrat-web.jpg", "400002", "image/jpeg",
         "Landrat Dr. Muster eröffnet das Fest. Foto: Clara Credit/ Landkreis Beispielheim"),
    ]
    assert [c["content"] for c in sommerfest.media_credit] == CREDITS[SOMMERFEST]
    assert [link.rel for link in radweg.links] == ["alternate"]


# --- JSON Feed ----------------------------------------------------------------------------------


def test_json_feed(site: Site) -> None:
    feed = json.loads(site.render()["feed.json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Pressemitteilungen des Landkreises Beispielheim"
    assert feed["home_page_url"] == BASE and feed["feed_url"] == BASE + "feed.json"
    assert "hubs" not in feed
    assert [i["id"] for i in feed["items"]] == [BASE + KREISHAUS + "/", BASE + SOMMERFEST + "/", BASE + RADWEG + "/"]
    kreishaus, sommerfest, radweg = feed["items"]
    assert kreishaus["url"] == kreishaus["id"]
    assert kreishaus["title"] == "Kreishaus „Am Markt“ öffnet wieder – Bürgerservice & Zulassung"
    assert kreishaus["date_published"] == "2025-07-02T09:30:00+02:00"
    assert kreishaus["date_modified"] == "2025-07-03T09:00:00+02:00"
    assert kreishaus["authors"] == [{"name": "Jörg Grün", "url": "mailto:umwelt@beispielheim.example"}]
    assert kreishaus["content_html"].startswith("<p><strong>Nach 14 Monaten Umbau</strong></p>\n<p>Die Sanierung")
    assert kreishaus["_pressekit"]["subtitle"] == "Nach 14 Monaten Umbau"
    assert sommerfest["tags"] == ["Umwelt", "Kultur & Freizeit"]
    assert sommerfest["image"] == BASE + SOMMERFEST + "/photos/buehne-web.jpg"
    assert len(sommerfest["attachments"]) == 9
    assert sommerfest["attachments"][5] == {
        "url": BASE + SOMMERFEST + "/photos/kinder%20fest-print.jpg", "mime_type": "image/jpeg",
        "title": "Kinder beim Dosenwerfen & Basteln. Foto: Ben Foto", "size_in_bytes": 800001}
    photo = sommerfest["_pressekit"]["photos"][1]
    assert photo == {
        "caption": "Kinder beim Dosenwerfen & Basteln.", "credit": "Ben Foto", "alt": "Kinder an einem Spielstand",
        "rights": {"label": "Frei zur redaktionellen Verwendung", "copyright": "© Landkreis Beispielheim", "url": ""},
        "variants": [{"name": n, "url": f"{BASE}{SOMMERFEST}/photos/kinder%20fest-{n}.jpg", "mime_type": "image/jpeg",
                      "size_in_bytes": 1000 * w + 1, "width": w, "height": w * 2 // 3}
                     for n, w in (("thumb", 200), ("web", 400), ("print", 800))],
    }
    assert [p["credit"] for p in sommerfest["_pressekit"]["photos"]] == CREDITS[SOMMERFEST]
    assert radweg["_pressekit"] == {"subtitle": "4,2 Kilometer für den Alltagsradverkehr", "photos": []}
    assert "image" not in radweg and "attachments" not in radweg


# --- tag feeds, news sitemap, autodiscovery -----------------------------------------------------


def test_tag_feeds(site: Site) -> None:
    files = site.render()
    assert sorted(f for f in files if f.startswith("themen/")) == [
        "themen/buergerservice/feed.xml", "themen/kultur-freizeit/feed.xml", "themen/umwelt/feed.xml",
        "themen/verkehr/feed.xml"]
    d = parse(files["themen/umwelt/feed.xml"])
    assert d.feed.title == "Pressemitteilungen des Landkreises Beispielheim: Umwelt"  # newest spelling of umwelt/Umwelt
    assert d.feed.link == BASE + "themen/umwelt/"
    assert [link.href for link in d.feed.links if link.rel == "self"] == [feeds.tag_feed_url(site.config, "Umwelt")]
    assert [e.id for e in d.entries] == [BASE + SOMMERFEST + "/", BASE + RADWEG + "/"]
    assert d.feed.updated == "Tue, 01 Jul 2025 14:00:00 +0200"
    assert feeds.tag_feed_url(site.config, "Kultur & Freizeit") == BASE + "themen/kultur-freizeit/feed.xml"


def test_news_sitemap_lists_the_last_two_days(site: Site) -> None:
    root = etree.fromstring(site.render()["news-sitemap.xml"])
    assert root.tag == f"{{{NS['sm']}}}urlset" and root.nsmap == {None: NS["sm"], "news": NS["news"]}
    urls = root.findall("sm:url", NS)
    assert [u.findtext("sm:loc", namespaces=NS) for u in urls] == [BASE + KREISHAUS + "/", BASE + SOMMERFEST + "/"]
    news = urls[0].find("news:news", NS)
    assert news.findtext("news:publication/news:name", namespaces=NS) == "Landkreis Beispielheim"
    assert news.findtext("news:publication/news:language", namespaces=NS) == "de"
    assert news.findtext("news:publication_date", namespaces=NS) == "2025-07-02T09:30:00+02:00"
    assert news.findtext("news:title", namespaces=NS) == "Kreishaus „Am Markt“ öffnet wieder – Bürgerservice & Zulassung"
    later = etree.fromstring(site.render(now=datetime.fromisoformat("2025-07-04T09:00:00+02:00"))["news-sitemap.xml"])
    assert [u.findtext("sm:loc", namespaces=NS) for u in later] == [BASE + KREISHAUS + "/"]


def test_feed_links(site: Site) -> None:
    title = "Pressemitteilungen des Landkreises Beispielheim"
    assert feeds.feed_links(site.config) == [
        ("application/rss+xml", f"{title} (RSS)", BASE + "feed.xml"),
        ("application/atom+xml", f"{title} (Atom)", BASE + "atom.xml"),
        ("application/feed+json", f"{title} (JSON Feed)", BASE + "feed.json"),
    ]


def test_item_limit_and_websub_hub(tmp_path: Path) -> None:
    site = make_site(tmp_path, '\n[feeds]\nitems = 2\nwebsub_hub = "https://hub.example.org/"\n')
    files = site.render()
    rss, atom = parse(files["feed.xml"]), parse(files["atom.xml"])
    feed = json.loads(files["feed.json"])
    assert len(rss.entries) == len(atom.entries) == len(feed["items"]) == 2
    assert len(parse(files["themen/umwelt/feed.xml"]).entries) == 2
    hub = ("hub", "https://hub.example.org/")
    assert [(link.rel, link.href) for link in rss.feed.links] == [("alternate", BASE), ("self", BASE + "feed.xml"), hub]
    assert [(link.rel, link.href) for link in atom.feed.links] == [("self", BASE + "atom.xml"), hub, ("alternate", BASE)]
    assert feed["hubs"] == [{"type": "WebSub", "url": "https://hub.example.org/"}]
    assert rss.feed.link == BASE


def test_empty_feeds_have_fixed_dates(site: Site) -> None:
    files = site.render(releases=[])
    assert parse(files["feed.xml"]).feed.updated == "Thu, 01 Jan 1970 01:00:00 +0100"
    assert parse(files["atom.xml"]).feed.updated == "1970-01-01T01:00:00+01:00"
    assert json.loads(files["feed.json"])["items"] == []
    assert sorted(files) == ["atom.xml", "feed.json", "feed.xml"]  # an empty news sitemap would be invalid


# --- XML, goldens, stability --------------------------------------------------------------------


def test_xml_is_well_formed_with_namespaces(site: Site) -> None:
    files = site.render()
    for name, data in files.items():
        if name.endswith(".xml"):
            assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n"), name
            etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))
    rss = etree.fromstring(files["feed.xml"])
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    assert {k: v for k, v in rss.nsmap.items()} == {"atom": NS["atom"], "content": NS["content"], "media": NS["media"]}
    assert len(rss.findall("channel/item/media:group/media:content", NS)) == 12
    assert len(rss.findall("channel/item/content:encoded", NS)) == 3
    assert rss.find("channel/atom:link[@rel='self']", NS).get("href") == BASE + "feed.xml"
    atom = etree.fromstring(files["atom.xml"])
    assert atom.tag == f"{{{NS['atom']}}}feed"
    assert len(atom.findall("atom:entry/atom:link[@rel='enclosure']", NS)) == 4
    assert len(atom.findall("atom:entry/media:group/media:credit", NS)) == 4


def test_goldens(site: Site, golden) -> None:
    for name, data in sorted(site.render().items()):
        golden(f"feeds/{name}", data)


def test_two_builds_give_the_same_bytes(site: Site, tmp_path: Path) -> None:
    other = make_site(tmp_path)
    assert site.render() == other.render()
    assert site.render(variants={}) == other.render(variants={})


# --- what is not public is in no feed -----------------------------------------------------------


def test_drafts_embargoes_and_future_releases_are_in_no_feed(site: Site) -> None:
    assert {r.id for r in site.all} - {r.id for r in site.public} == set(HIDDEN)
    for name, data in site.render().items():
        for hidden in HIDDEN:
            assert hidden.encode() not in data, (name, hidden)
        for title in ("Haushaltsentwurf", "Noch nicht fertig", "Kommt erst noch"):
            assert title.encode() not in data, (name, title)


def test_feeds_leave_out_what_is_not_public_even_when_given_it(site: Site) -> None:
    assert site.render(releases=site.all) == site.render()


def test_an_embargoed_release_appears_when_the_embargo_lifts(site: Site) -> None:
    later = datetime.fromisoformat("2025-07-04T10:00:00+02:00")
    files = site.render(now=later, releases=public_releases(site.all, later))
    first = parse(files["feed.xml"]).entries[0]
    assert first.id == BASE + "2025-07-03-haushalt/"
    assert first.published == "Fri, 04 Jul 2025 10:00:00 +0200"
    assert "2025-07-10-zukunft" not in files["feed.xml"].decode()


def test_a_correction_keeps_the_guid_and_changes_the_updated_date(site: Site) -> None:
    original = next(r for r in site.public if r.id == SOMMERFEST)
    corrected = dataclasses.replace(original, title="Sommerfest im Kreispark mit 4.000 Gästen",
                                    updated=datetime.fromisoformat("2025-07-03T08:15:00+02:00"))
    before = site.render()
    after = site.render(releases=[corrected if r is original else r for r in site.public])
    old, new = parse(before["feed.xml"]).entries[1], parse(after["feed.xml"]).entries[1]
    assert new.id == old.id == BASE + SOMMERFEST + "/" and new.title != old.title
    assert new.published == old.published == "Tue, 01 Jul 2025 14:00:00 +0200"
    assert (old.updated, new.updated) == ("2025-07-01T14:00:00+02:00", "2025-07-03T08:15:00+02:00")
    old_atom, new_atom = parse(before["atom.xml"]).entries[1], parse(after["atom.xml"]).entries[1]
    assert new_atom.id == old_atom.id and (old_atom.updated, new_atom.updated) == (
        "2025-07-01T14:00:00+02:00", "2025-07-03T08:15:00+02:00")
    old_json, new_json = json.loads(before["feed.json"])["items"][1], json.loads(after["feed.json"])["items"][1]
    assert new_json["id"] == old_json["id"] and new_json["date_modified"] == "2025-07-03T08:15:00+02:00"


# --- any text survives --------------------------------------------------------------------------

TRICKY = st.sampled_from(["]]>", "&", "<", ">", '"', "'", "&amp;", "&#169;", "&lt;b&gt;", "<b>", "</p>", "<script>",
                          "<!--", "ä", "Ö", "ß", "„", "“", "–", "€", "😀", "🇩🇪", "\t", " ", "*", "_", "[", "]", "#"])


def texts(*, one_line: bool) -> st.SearchStrategy[str]:
    """Text a release may hold: no control characters (validation rejects them), no line break in one-line fields."""
    chunk = st.one_of(TRICKY, st.text(st.characters(exclude_categories=("Cs",)), max_size=4))
    text = st.lists(chunk, max_size=10).map("".join)
    return text.filter(lambda s: not CONTROL.search(s) and not (one_line and LINE_BREAKS.search(s)))


def mangled_by_feedparser(text: str) -> bool:
    """feedparser "repairs" Latin-1-only text that also reads as UTF-8 ("Ã©" becomes "é"): its heuristic, not ours."""
    try:
        return text.encode("latin-1").decode("utf-8") != text
    except UnicodeError:
        return False


@settings(max_examples=200, deadline=None)
@given(title=texts(one_line=True).map(str.strip).filter(bool),
       summary=texts(one_line=False).filter(lambda s: s.split()),
       body=texts(one_line=False))
def test_any_text_comes_back_exactly(site: Site, title: str, summary: str, body: str) -> None:
    base = next(r for r in site.public if r.id == RADWEG)
    release = dataclasses.replace(base, title=title, summary=summary, body=body, subtitle="", date=NOW)
    files = site.render(releases=[release])
    summary = " ".join(summary.split())  # as validation and summary_of give it to every output
    content = absolutize(render_html(body), BASE + RADWEG + "/")

    rss, atom = parse(files["feed.xml"]).entries[0], parse(files["atom.xml"]).entries[0]
    if not mangled_by_feedparser(title):
        assert rss_title(rss) == atom.title == title
    if not mangled_by_feedparser(summary):
        assert html.unescape(rss.summary) == atom.summary == summary  # an RSS description is HTML
    for name in ("feed.xml", "atom.xml"):
        raw = parse(files[name], sanitize_html=False, resolve_relative_uris=False).entries[0]
        if not mangled_by_feedparser(content):
            assert raw.content[0].value == content.strip()
    item = etree.fromstring(files["feed.xml"]).find("channel/item")
    assert item.findtext("title") in (title, html.escape(title, quote=False))
    assert html.unescape(item.findtext("description")) == summary
    assert item.findtext("content:encoded", namespaces=NS) == content
    entry = etree.fromstring(files["atom.xml"]).find("atom:entry", NS)
    assert (entry.findtext("atom:title", namespaces=NS), entry.findtext("atom:summary", namespaces=NS)) == (title, summary)
    assert entry.findtext("atom:content", namespaces=NS) == content
    item = json.loads(files["feed.json"])["items"][0]
    assert (item["title"], item["summary"], item["content_html"]) == (title, summary, content)
    sitemap = etree.fromstring(files["news-sitemap.xml"])
    assert sitemap.findtext("sm:url/news:news/news:title", namespaces=NS) == title


def test_text_feedparser_would_repair_is_written_exactly(site: Site) -> None:
    base = next(r for r in site.public if r.id == RADWEG)
    release = dataclasses.replace(base, title="Fuß\u00a0ball Ã© Â¡", summary="Ã© Â¡")
    files = site.render(releases=[release])
    assert etree.fromstring(files["atom.xml"]).findtext("atom:entry/atom:title", namespaces=NS) == "Fuß\u00a0ball Ã© Â¡"
    assert json.loads(files["feed.json"])["items"][0]["summary"] == "Ã© Â¡"
