"""A real `pressekit service` (waitress, subprocess, loopback port) driven by chromium through Playwright.

The journalist's whole way: fill the form, read the confirmation mail from aiosmtpd, open the link,
press the button, change topics, leave; axe-core audits every page on the way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtp_server import FaultyHandler, free_port, smtp_server
from subskit import link, write_subs_site

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.xdist_group("browser")

REPO = Path(__file__).resolve().parent.parent
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
CHROMIUM = "/usr/lib/chromium/chromium"
THEME_CSS = REPO / "templates" / "assets" / "pressekit.css"


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"pressekit service exited: {proc.communicate()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("pressekit service did not start listening")


def audit(page: sync_api.Page) -> None:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    found = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
             for v in result["violations"]]
    assert found == [], page.url


def test_subscribe_confirm_choose_topics_and_leave_in_a_browser(browser: sync_api.Browser, tmp_path: Path) -> None:
    handler = FaultyHandler()
    port = free_port()
    with smtp_server(handler) as controller:
        root = write_subs_site(tmp_path / "site", controller.port, url=f"http://127.0.0.1:{port}/abo/")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.Popen([sys.executable, "-m", "pressekit.cli", "service", "--site", str(root),
                                 "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for_port(port, proc)
            context = browser.new_context()
            # The pages take the newsroom's stylesheet from the public site: serve the theme's here.
            context.route("https://presse.beispielheim.example/**", lambda route: route.fulfill(
                status=200, content_type="text/css", body=THEME_CSS.read_text()) if route.request.url.endswith(".css")
                else route.fulfill(status=404, body=""))
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/abo/abonnieren?thema=Verkehr")
            audit(page)
            assert page.get_by_label("Verkehr").is_checked()

            page.get_by_role("button", name="Abonnieren").click()          # nothing filled in
            assert page.get_by_role("alert").is_visible()
            assert page.get_by_label("E-Mail-Adresse (Pflichtangabe)").get_attribute("aria-invalid") == "true"
            audit(page)

            page.get_by_label("E-Mail-Adresse (Pflichtangabe)").fill("anna@zeitung.example")
            page.get_by_label("Redaktion oder Medium (freiwillig)").fill("Kreisblatt")
            page.get_by_label("Ich willige ein.").check()
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="Bitte bestätigen Sie Ihre Adresse").wait_for()
            audit(page)

            [mail] = handler.received
            page.goto(link(mail.message.get_content(), "bestaetigen"))
            page.get_by_role("heading", name="Abonnement bestätigen").wait_for()
            audit(page)
            page.get_by_role("button", name="Abonnement bestätigen").click()
            page.get_by_text("Ihr Abonnement ist bestätigt.").wait_for()
            audit(page)

            page.get_by_role("link", name="Themen auswählen oder abmelden").click()
            page.get_by_role("heading", name="Einstellungen Ihres Abonnements").wait_for()
            audit(page)
            page.get_by_label("Umwelt").check()
            page.get_by_role("button", name="Auswahl speichern").click()
            page.get_by_text("Ihre Auswahl ist gespeichert.").wait_for()
            assert page.get_by_label("Umwelt").is_checked() and page.get_by_label("Verkehr").is_checked()
            audit(page)

            page.get_by_role("link", name="Keine Pressemitteilungen mehr erhalten").click()
            page.get_by_role("button", name="Jetzt abmelden").wait_for()
            audit(page)
            page.get_by_role("button", name="Jetzt abmelden").click()
            page.get_by_role("heading", name="Abgemeldet").wait_for()
            audit(page)

            page.goto(f"http://127.0.0.1:{port}/abo/bestaetigen/gefaelscht")
            page.get_by_role("heading", name="Link ungültig").wait_for()
            audit(page)
            context.close()
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
    listing = subprocess.run([sys.executable, "-m", "pressekit.cli", "subscribers", "list", "--format", "csv",
                              "--site", str(root)], env=env, capture_output=True, text=True, check=True).stdout
    assert listing.splitlines()[1].startswith("anna@zeitung.example,,Kreisblatt,unsubscribed,Umwelt; Verkehr,")
