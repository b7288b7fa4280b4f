"""The example site in a real browser (Playwright driving Debian's chromium), and live reload under `serve`.

A copy of the repository's own releases/ and pressekit.toml is built once with a fixed clock and served by
a plain http.server (404.html for misses, as a web server would be configured). Screenshots go
to tests/.screenshots/ for a person to look at.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import pytest

from pressekit.build import build_site
from pressekit.config_file import load_config
from pressekit.serve import PreviewServer
from sitekit import SIMPLE, write_site

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.xdist_group("browser")  # one chromium and one example build with --dist loadgroup

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe.min.js"
SCREENSHOTS = HERE / ".screenshots"
NOW = datetime(2026, 11, 25, 12, tzinfo=ZoneInfo("Europe/Berlin"))
CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

INDEX = "/"
RELEASE = "/2025-06-23-ausbildungsmesse-zukunft-auenfeld/"  # three photos, one of them a PNG chart
TAG = "/themen/verkehr/"
MISSING = "/gibt-es-nicht/"
PAGES = {"index": INDEX, "release": RELEASE, "tag": TAG, "404": MISSING}
WIDTHS = (375, 1280)


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    executable = next((path for path in CHROMIUM if Path(path).is_file()), None)
    if executable is None:
        message = "chromium is not installed (apt-get install chromium): the browser tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a skip there would hide a broken setup
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield browser
        browser.close()


class _StaticHandler(SimpleHTTPRequestHandler):
    """A web server as a newsroom is hosted: files from output/, 404.html for every miss."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        data = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example site built at NOW and served on a free local port; yields its base URL."""
    root = tmp_path_factory.mktemp("example")  # a copy: the build's caches stay out of the repository
    for name in ("releases", "templates", "pages"):
        shutil.copytree(REPO / name, root / name)
    for name in ("pressekit.toml", "teilen.png"):
        shutil.copy2(REPO / name, root / name)
    output = root / "output"
    build_site(root, output, NOW)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_StaticHandler, directory=str(output)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class Visit:
    """A page opened in a fresh browser context, with every console error and failed request recorded."""

    def __init__(self, browser: sync_api.Browser, url: str, width: int = 1280, expect_status: int = 200,
                 wait_until: str = "load"):
        self.context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and r.url != url
                     and self.problems.append(f"HTTP {r.status}: {r.url}"))
        self.url, self.expect_status = url, expect_status
        response = self.page.goto(url, wait_until=wait_until)  # type: ignore[arg-type]
        assert response is not None and response.status == expect_status, url

    def _console(self, message: sync_api.ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = message.location.get("url", "")
        if source == self.url and self.expect_status != 200:
            return  # the browser logs the status of the page itself, which is the point of a 404 page
        self.problems.append(f"console: {message.text} ({source})")

    def __enter__(self) -> Visit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.context.close()

    def load_all_images(self) -> list[tuple[str, int]]:
        """Scroll every image into view (lazy ones load then); return (src, naturalWidth) of each."""
        return [tuple(pair) for pair in self.page.evaluate("""async () => {
            const images = [...document.images];
            for (const img of images) {
                img.scrollIntoView();
                if (!img.complete) await new Promise(done => {
                    img.addEventListener("load", done, {once: true});
                    img.addEventListener("error", done, {once: true});
                });
            }
            window.scrollTo(0, 0);
            return images.map(img => [img.currentSrc || img.src, img.naturalWidth]);
        }""")]


# --- the built example site ----------------------------------------------------------------------

@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly_with_every_image(browser: sync_api.Browser, site: str, name: str) -> None:
    with Visit(browser, site + PAGES[name], expect_status=404 if name == "404" else 200,
               wait_until="networkidle") as visit:
        images = visit.load_all_images()
        visit.page.wait_for_load_state("networkidle")
        assert visit.problems == []
        assert [src for src, width in images if width == 0] == []
        if name == "release":
            assert len(images) == 3
            assert visit.page.locator("figure.photo figcaption .credit").all_inner_texts() == [
                "Foto: Jana Beispiel/ Kreis Auenfeld", "Foto: Jana Beispiel/ Kreis Auenfeld", "Foto: Kreis Auenfeld"]
        if name == "404":
            assert visit.page.locator("h1").inner_text() == "Seite nicht gefunden"


def test_pages_declare_an_icon(browser: sync_api.Browser, site: str) -> None:
    with Visit(browser, site + INDEX) as visit:
        assert visit.page.locator("link[rel~=icon]").count() == 1
        href = visit.page.locator("link[rel~=icon]").get_attribute("href") or ""
        assert visit.page.request.get(urljoin(visit.page.url, href)).status == 200


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_scrolling(browser: sync_api.Browser, site: str, width: int) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for name, path in PAGES.items():
        with Visit(browser, site + path, width, expect_status=404 if name == "404" else 200) as visit:
            visit.load_all_images()
            scroll, client = visit.page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            wide = visit.page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""")
            assert scroll <= client, f"{path} at {width} px scrolls sideways ({scroll} > {client}): {wide}"
            if name in ("index", "release"):
                visit.page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("name", PAGES)
def test_accessibility_audit(browser: sync_api.Browser, site: str, name: str) -> None:
    with Visit(browser, site + PAGES[name], expect_status=404 if name == "404" else 200) as visit:
        visit.page.add_script_tag(path=AXE)
        result = visit.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        serious = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                   for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []


def test_print_stylesheet_hides_navigation(browser: sync_api.Browser, site: str) -> None:
    for path in (INDEX, RELEASE):
        with Visit(browser, site + path) as visit:
            assert visit.page.locator("nav.site-nav").is_visible()
            visit.page.emulate_media(media="print")
            assert not visit.page.locator("nav.site-nav").is_visible()
            assert not visit.page.locator(".skip-link").is_visible()
            assert visit.page.locator("h1").first.is_visible()
    with Visit(browser, site + INDEX) as visit:
        visit.page.emulate_media(media="print")
        assert not visit.page.locator("aside.sidebar").is_visible()


class _Links(HTMLParser):
    """Every URL a page refers to: links, images (with srcset), stylesheets and feeds."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag in ("a", "link") and values.get("href") and values.get("rel") not in ("canonical",):
            self.urls.append(values["href"] or "")
        if tag in ("img", "script") and values.get("src"):
            self.urls.append(values["src"] or "")
        for candidate in (values.get("srcset") or "").split(","):
            if candidate.strip():
                self.urls.append(candidate.split()[0])


def test_every_internal_link_resolves(site: str) -> None:
    """Crawl the site from its home page: every internal link, image and feed answers 200."""
    config, _ = load_config(REPO)
    base_url = config.site.base_url  # absolute links to the site (feeds, og:url) count as internal
    # The terms of use are the office's own page on its web server; pressekit links them, not builds them.
    hosted_elsewhere = {urldefrag(r.url)[0] for r in config.rights if r.url}

    def local(url: str) -> str:
        if urldefrag(url)[0] in hosted_elsewhere:
            return url
        return site + "/" + url[len(base_url):] if url.startswith(base_url) else url

    queue, seen, broken, anchors = deque([site + "/"]), {site + "/"}, [], []
    ids: dict[str, set[str]] = {}
    while queue:
        url = queue.popleft()
        try:
            with urlopen(url, timeout=10) as response:
                kind, body = response.headers.get_content_type(), response.read()
        except HTTPError as exc:
            broken.append(f"{url}: {exc.code}")
            exc.close()
            continue
        if kind != "text/html":
            continue
        parser = _Links()
        parser.feed(body.decode("utf-8"))
        ids[url] = parser.ids
        for href in parser.urls:
            target = local(urljoin(url, href))
            if not target.startswith(site + "/"):
                continue
            page, fragment = urldefrag(target)
            if fragment:
                anchors.append((url, page, fragment))
            if page not in seen:
                seen.add(page)
                queue.append(page)
    assert broken == []
    assert [a for a in anchors if a[1] in ids and a[2] not in ids[a[1]]] == []
    pages = {urlsplit(u).path for u in ids}
    assert {INDEX, RELEASE, TAG, "/2026/", "/2025/"} <= pages
    assert len(seen) > 50  # pages, photos in three sizes, ZIPs, attachments, feeds


# --- live reload under `pressekit serve` --------------------------------------------------------

def test_live_reload_follows_edits_and_errors(browser: sync_api.Browser, tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE})
    source = root / "releases" / "2025-03-04-radweg" / "index.md"
    good = source.read_text(encoding="utf-8")
    expect = sync_api.expect
    with PreviewServer(root, port=0, clock=lambda: NOW, jobs=1) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url + "2025-03-04-radweg/")
        body = page.locator("main")
        expect(body).to_contain_text("sechs Monate")

        source.write_text(good.replace("sechs Monate", "sieben Monate"), encoding="utf-8")
        expect(body).to_contain_text("sieben Monate", timeout=10_000)

        source.write_text(good.replace("title: Kreis", "title: [Kreis"), encoding="utf-8")
        expect(page.locator("h1.pressekit-error")).to_be_visible(timeout=10_000)
        expect(page.locator("ol.problems")).to_contain_text(
            "releases/2025-03-04-radweg/index.md:3: the front matter is not valid YAML")

        source.write_text(good.replace("sechs Monate", "acht Monate"), encoding="utf-8")
        expect(page.locator("main")).to_contain_text("acht Monate", timeout=10_000)
        assert re.search(r"Kreis eröffnet neuen Radweg", page.locator("h1").inner_text())
        context.close()
