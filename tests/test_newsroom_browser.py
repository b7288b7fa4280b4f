"""The newsroom in a real browser (Playwright driving Debian's chromium): the search page finds a release
by a word in it, filters by topic, is keyboard-usable and axe-clean, and falls back to the archive
without JavaScript; on a phone the Pressekontakt box follows the title and lead."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from pressekit import search
from pressekit.build import build_site
from sitekit import write_legal_pages, write_release, write_site

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.xdist_group("browser")

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
NOW = datetime(2025, 6, 1, 12, tzinfo=ZoneInfo("Europe/Berlin"))
CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT = 10_000  # milliseconds for a search to show its results

RELEASES = {
    "2023-05-02-bruecke": ("Brücke über die Auen wird saniert", "Verkehr",
                           "Die Brücke über die Auen wird ab Juni saniert. Umleitungen sind ausgeschildert."),
    "2024-09-10-streuobst": ("Kreis pflanzt Streuobstwiesen", "Umwelt",
                             "Auf sechs Flächen pflanzt der Kreis alte Apfelsorten wie den Kaiser Wilhelm."),
    "2025-03-04-radweg": ("Neuer Radweg zwischen Nordstadt und Südheim", "Verkehr",
                          "Der Radweg ist 4,2 Kilometer lang. Radfahrende sparen sich den Umweg über die Brücke."),
    "2025-05-20-schule": ("Schulen erhalten Tablets", "Bildung",
                          "Alle weiterführenden Schulen erhalten neue Tablets für den Unterricht."),
}


def release_text(title: str, tag: str, body: str, day: str) -> str:
    return (f"---\ntitle: {title}\ndate: {day}\ntags: [{tag}]\n---\n{body}\n\n"
            + "## Hintergrund\n\n" + "Der Kreis informiert über den Fortgang der Arbeiten. " * 40 + "\n")


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    executable = next((path for path in CHROMIUM if Path(path).is_file()), None)
    if executable is None:
        message = "chromium is not installed (apt-get install chromium): the browser tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield browser
        browser.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small site with releases over three years and the legal pages, built and served locally."""
    root = write_legal_pages(write_site(tmp_path_factory.mktemp("newsroom") / "site"))
    for rid, (title, tag, body) in RELEASES.items():
        write_release(root, rid, release_text(title, tag, body, rid[:10]))
    write_release(root, "2025-05-28-kreistag", "---\ntitle: Kreistag tagt\ndate: 2025-05-28\nevent:\n"
                  "  start: 2025-06-04T15:00:00+02:00\n  location: Kreishaus, Sitzungssaal\n---\nÖffentliche Sitzung.\n")
    with mock.patch.object(search, "INDEX_SIZE", 1):  # 2025 is indexed in two parts: five indexes to merge
        build_site(root, root / "output", NOW)
    assert sorted(p.name for p in (root / "output" / "pagefind").iterdir()) == \
        ["2023", "2024", "2025-01", "2025-05", "seiten"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root / "output")))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def open_page(browser: sync_api.Browser, url: str, width: int = 1280, javascript: bool = True) -> sync_api.Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE",
                                  java_script_enabled=javascript)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(url)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def axe_violations(page: sync_api.Page) -> list[str]:
    page.add_script_tag(path=AXE)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


def results(page: sync_api.Page) -> list[str]:
    return page.locator("#treffer li h2 a").all_text_contents()


def test_a_word_from_one_release_finds_it_first(browser: sync_api.Browser, site: str) -> None:
    page = open_page(browser, site + "/suche/")
    field = page.get_by_label("Suchbegriff")
    field.wait_for(state="visible", timeout=TIMEOUT)
    assert axe_violations(page) == []
    page.keyboard.press("Tab")  # the skip link comes first, then the header, ... the field is reachable
    for _ in range(30):
        if page.evaluate("document.activeElement.id") == "suchbegriff":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "suchbegriff"
    page.keyboard.type("Apfelsorten")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#treffer li').length > 0", timeout=TIMEOUT)
    assert results(page)[0] == "Kreis pflanzt Streuobstwiesen"
    assert page.locator("#suchstatus").text_content() == "1 Treffer für „Apfelsorten“."
    assert page.locator("#suchstatus").get_attribute("role") == "status"
    assert page.locator("#treffer li mark").first.text_content() == "Apfelsorten"
    page.locator("#treffer li h2 a").first.click()
    page.wait_for_url("**/2024-09-10-streuobst/")
    assert page.errors == []  # type: ignore[attr-defined]


def test_german_stemming_and_the_topic_filter(browser: sync_api.Browser, site: str) -> None:
    page = open_page(browser, site + "/suche/?q=Br%C3%BCcken")  # the plural finds "Brücke"
    page.wait_for_function("document.querySelectorAll('#treffer li').length >= 2", timeout=TIMEOUT)
    assert sorted(results(page)) == ["Brücke über die Auen wird saniert", "Neuer Radweg zwischen Nordstadt und Südheim"]
    page.get_by_label("Jahr").select_option("2023")
    page.wait_for_function("document.querySelectorAll('#treffer li').length === 1", timeout=TIMEOUT)
    assert results(page) == ["Brücke über die Auen wird saniert"]
    page.get_by_label("Jahr").select_option("")
    page.get_by_label("Suchbegriff").fill("")
    page.get_by_label("Thema").select_option("Bildung")
    page.wait_for_function("document.querySelector('#treffer li h2 a')?.textContent === 'Schulen erhalten Tablets'",
                           timeout=TIMEOUT)
    assert results(page) == ["Schulen erhalten Tablets"]
    assert axe_violations(page) == []
    assert page.errors == []  # type: ignore[attr-defined]


def test_pages_are_found_too(browser: sync_api.Browser, site: str) -> None:
    page = open_page(browser, site + "/suche/?q=Impressum")
    page.wait_for_function("document.querySelectorAll('#treffer li').length > 0", timeout=TIMEOUT)
    assert results(page)[0] == "Impressum"


def test_without_javascript_the_search_page_leads_to_the_archive(browser: sync_api.Browser, site: str) -> None:
    page = open_page(browser, site + "/suche/", javascript=False)
    assert not page.get_by_label("Suchbegriff").is_visible()
    link = page.locator("noscript a, main a[href$='archiv/']").first
    assert link.is_visible()
    assert link.get_attribute("href") == "../archiv/"


def test_termine_page_is_accessible(browser: sync_api.Browser, site: str) -> None:
    page = open_page(browser, site + "/termine/")
    assert page.locator("#kommende + ul li h3").all_text_contents() == ["Kreistag tagt"]
    assert page.get_by_role("link", name="In den Kalender (.ics)").get_attribute("href") == "../2025-05-28-kreistag/termin.ics"
    assert axe_violations(page) == []
    release = open_page(browser, site + "/2025-05-28-kreistag/", width=375)
    assert axe_violations(release) == []


def test_footer_links_work_in_the_browser(browser: sync_api.Browser, site: str) -> None:
    page = open_page(browser, site + "/2025-03-04-radweg/")
    page.locator("footer").get_by_role("link", name="Impressum").click()
    page.wait_for_url("**/impressum/")
    assert page.locator("h1").text_content() == "Impressum"
    assert axe_violations(page) == []


def test_on_a_phone_the_contact_follows_title_and_lead(browser: sync_api.Browser, site: str) -> None:
    page = open_page(browser, site + "/2025-03-04-radweg/", width=375)
    box = page.locator(".release-aside").bounding_box()
    title = page.locator(".release-header").bounding_box()
    body = page.locator(".release-body").bounding_box()
    assert box and title and body
    assert title["y"] + title["height"] <= box["y"] < body["y"]  # before the text, not 5,000 px further down
    assert box["y"] < 900  # on the first screen
    page.emulate_media(media="print")
    assert page.get_by_role("heading", name="Pressekontakt").is_visible()
    wide = open_page(browser, site + "/2025-03-04-radweg/", width=1280)
    beside, text = wide.locator(".release-aside").bounding_box(), wide.locator(".release-body").bounding_box()
    assert beside and text and beside["x"] > text["x"] + text["width"]  # beside the text on a wide screen
