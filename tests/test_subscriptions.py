"""The subscription service through Flask's test client, and the office's `subscribers` commands.

A real aiosmtpd server receives the double-opt-in mails; the links are read from those mails.
Time is a fake clock. Every state change goes through the pages a journalist uses.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from pressekit.cli import main
from pressekit.service import create_app
from smtp_server import FaultyHandler, free_port, smtp_server
from sitekit import write_legal_pages
from subskit import FakeClock, csrf, link, tree, write_subs_site

ADDRESS = "anna.beispiel@zeitung.example"


@dataclass
class Service:
    root: Path
    client: FlaskClient
    smtp: FaultyHandler
    clock: FakeClock

    def mails(self) -> list[str]:
        return [r.message.get_content() for r in self.smtp.received]

    def subscribe(self, address: str = ADDRESS, **extra: object) -> tuple[int, str]:
        page = self.client.get("/abo/abonnieren").get_data(as_text=True)
        data = {"csrf": csrf(page), "email": address, "einwilligung": "ja", **extra}
        response = self.client.post("/abo/abonnieren", data=data)
        return response.status_code, response.get_data(as_text=True)

    def state(self, address: str = ADDRESS) -> str | None:
        path = self.root / ".pressekit" / "subscribers.sqlite"
        if not path.exists():
            return None
        db = sqlite3.connect(path)
        try:
            row = db.execute("SELECT state FROM subscribers WHERE key = ?", (address.casefold(),)).fetchone()
        finally:
            db.close()
        return row[0] if row else None

    def confirm(self) -> str:
        url = urlsplit(link(self.mails()[-1], "bestaetigen")).path
        page = self.client.get(url).get_data(as_text=True)
        response = self.client.post(url, data={"csrf": csrf(page)})
        assert response.status_code == 200
        return response.get_data(as_text=True)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        root = write_subs_site(tmp_path / "site", controller.port)
        clock = FakeClock()
        yield Service(root, create_app(root, clock=clock).test_client(), handler, clock)


def text_of(html: str) -> str:
    main_part = html[html.index("<main"):html.index("</main>")]
    return " ".join(re.sub(r"<[^>]+>", " ", main_part).split())


# --- sign-up, confirm, settings, leave ----------------------------------------------------------

def test_form_lists_the_sites_topics_and_preselects_the_topic_page(service: Service) -> None:
    html = service.client.get("/abo/abonnieren?thema=verkehr").get_data(as_text=True)
    assert '<input type="checkbox" name="themen" value="Verkehr" checked>' in html
    assert '<input type="checkbox" name="themen" value="Umwelt">' in html
    assert '<input type="checkbox" name="themen" value="Verwaltung">' in html
    assert '<label for="email">E-Mail-Adresse (Pflichtangabe)</label>' in html
    assert "Ich möchte die Pressemitteilungen von Landkreis Beispielheim per E-Mail erhalten." in html


def test_sign_up_confirm_change_topics_and_leave(service: Service) -> None:
    status, html = service.subscribe(themen="Verkehr", name="Anna Beispiel", medium="Kreisblatt")
    assert status == 200
    assert "erhalten Sie in wenigen Minuten eine E-Mail mit einem Bestätigungslink" in html
    assert service.state() == "pending"
    [got] = service.smtp.received
    assert got.rcpt_tos == (ADDRESS,)
    assert got.message["Subject"] == "Bitte bestätigen: Pressemitteilungen per E-Mail"
    assert got.message["From"] == "Pressestelle Landkreis Beispielheim <presse@beispielheim.example>"
    body = got.message.get_content()
    assert "Guten Tag Anna Beispiel," in body and "(gültig 48 Stunden)" in body

    url = urlsplit(link(body, "bestaetigen")).path
    page = service.client.get(url)
    assert page.status_code == 200 and "Abonnement bestätigen</button>" in page.get_data(as_text=True)
    assert service.state() == "pending"        # a GET changes nothing
    done = service.confirm()
    assert "Vielen Dank! Ihr Abonnement ist bestätigt." in text_of(done)
    assert service.state() == "confirmed"

    settings = urlsplit(link(done, "einstellungen").split('"')[0]).path
    page = service.client.get(settings).get_data(as_text=True)
    assert 'value="Verkehr" checked' in page
    saved = service.client.post(settings, data={"csrf": csrf(page), "themen": ["Umwelt", "Verwaltung"]})
    assert "Ihre Auswahl ist gespeichert." in saved.get_data(as_text=True)
    page = service.client.get(settings).get_data(as_text=True)
    assert 'value="Umwelt" checked' in page and 'value="Verwaltung" checked' in page
    assert 'value="Verkehr" checked' not in page

    leave = urlsplit(link(page, "abmelden").split('"')[0]).path
    assert "Jetzt abmelden</button>" in service.client.get(leave).get_data(as_text=True)
    assert service.state() == "confirmed"
    left = service.client.post(leave, data={})
    assert left.status_code == 200
    assert "Sie sind abgemeldet" in left.get_data(as_text=True)
    assert service.state() == "unsubscribed"

    show = CliRunner().invoke(main, ["subscribers", "show", ADDRESS, "--site", str(service.root)])
    assert show.exit_code == 0, show.output
    trail = show.output
    for expected in ("Status:       unsubscribed", "Themen:       Umwelt, Verwaltung", "signup  form  consent ",
                     "mail-due  confirm", "mail-sent  smtp  250 OK", "confirmed  link", "IP 127.0.0.1",
                     "topics  einstellungen  Verkehr -> Umwelt, Verwaltung", "unsubscribed  abmelden",
                     "Einwilligungstext "):
        assert expected in trail


def test_one_click_unsubscribe_as_a_mail_client_posts_it(service: Service) -> None:
    service.subscribe()
    done = service.confirm()
    leave = urlsplit(link(done.replace("einstellungen", "abmelden"), "abmelden").split('"')[0]).path
    fresh = create_app(service.root, clock=service.clock).test_client(use_cookies=False)
    response = fresh.post(leave, data="List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert service.state() == "unsubscribed"
    again = fresh.post(leave, data="List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert again.status_code == 200


def test_same_answer_for_known_and_unknown_addresses(service: Service) -> None:
    _, first = service.subscribe()
    service.confirm()
    _, known = service.subscribe()
    _, unknown = service.subscribe("neu@zeitung.example")
    assert text_of(first) == text_of(known) == text_of(unknown)
    assert "erhält die Pressemitteilungen von Landkreis Beispielheim bereits" in service.mails()[-2]
    assert service.state() == "confirmed"


def test_resubscribing_after_leaving_needs_a_new_confirmation(service: Service) -> None:
    service.subscribe()
    service.confirm()
    CliRunner().invoke(main, ["subscribers", "unsubscribe", ADDRESS, "--site", str(service.root)])
    assert service.state() == "unsubscribed"
    service.subscribe()
    assert service.state() == "pending"
    service.confirm()
    assert service.state() == "confirmed"


# --- what must change nothing -------------------------------------------------------------------

def test_get_never_changes_state(service: Service) -> None:
    service.subscribe()
    url = urlsplit(link(service.mails()[-1], "bestaetigen")).path
    before = tree(service.root / ".pressekit")
    for _ in range(3):
        assert service.client.get(url).status_code == 200
    assert service.state() == "pending"
    assert {k: v for k, v in tree(service.root / ".pressekit").items() if "sqlite" not in k} == \
        {k: v for k, v in before.items() if "sqlite" not in k}


@pytest.mark.parametrize("token", ["garbage", "a" * 600, "WzEsIngiLDE3OTk5OTk5OTld.forged", "%00"])
def test_forged_or_garbled_tokens_are_a_clear_404(service: Service, token: str) -> None:
    service.subscribe()
    for page in ("bestaetigen", "einstellungen", "abmelden"):
        for method in (service.client.get, service.client.post):
            response = method(f"/abo/{page}/{token}")
            assert response.status_code == 404
            assert "Dieser Link ist ungültig oder wurde bereits verwendet." in response.get_data(as_text=True)
    assert service.state() == "pending"


def test_a_token_signed_with_another_key_is_refused(service: Service, tmp_path: Path) -> None:
    from pressekit.subscriptions.tokens import Tokens

    service.subscribe()
    forged = Tokens(b"x" * 32).manage_token(1, 1)
    assert service.client.post(f"/abo/abmelden/{forged}").status_code == 404
    assert service.state() == "pending"


def test_confirmation_link_expires_after_confirm_hours(service: Service) -> None:
    service.subscribe()
    url = urlsplit(link(service.mails()[-1], "bestaetigen")).path
    page = service.client.get(url).get_data(as_text=True)
    service.clock.advance(hours=48)
    response = service.client.post(url, data={"csrf": csrf(page)})
    assert response.status_code == 410
    assert "Dieser Bestätigungslink ist abgelaufen." in response.get_data(as_text=True)
    assert service.state() == "pending"


def test_reused_and_replaced_confirmation_links(service: Service) -> None:
    service.subscribe()
    old = urlsplit(link(service.mails()[-1], "bestaetigen")).path
    service.subscribe()   # a second request replaces the open one
    page = service.client.get(old)
    assert page.status_code == 404
    service.confirm()
    form = service.client.get("/abo/abonnieren").get_data(as_text=True)
    again = service.client.post(urlsplit(link(service.mails()[-1], "bestaetigen")).path, data={"csrf": csrf(form)})
    assert again.status_code == 200
    assert "Ihr Abonnement ist bereits bestätigt." in again.get_data(as_text=True)


def test_form_errors_are_tied_to_their_fields(service: Service) -> None:
    page = service.client.get("/abo/abonnieren").get_data(as_text=True)
    response = service.client.post("/abo/abonnieren", data={"csrf": csrf(page), "email": "kein-at-zeichen",
                                                            "name": 'Anna "<x>"', "themen": "Kochen"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true" aria-describedby="email-fehler"' in html
    assert '<p class="error" id="email-fehler">Bitte geben Sie eine gültige E-Mail-Adresse an' in html
    assert '<p class="error" id="name-fehler">Der Name darf keine Zeichen wie' in html
    assert '<p class="error" id="themen-fehler">Bitte wählen Sie nur Themen aus der Liste.</p>' in html
    assert '<p class="error" id="einwilligung-fehler">Bitte stimmen Sie der Einwilligung zu' in html
    assert 'value="kein-at-zeichen"' in html
    assert not service.smtp.received and not service.state("kein-at-zeichen")


def test_missing_csrf_token_and_honeypot_store_nothing(service: Service) -> None:
    response = service.client.post("/abo/abonnieren", data={"email": ADDRESS, "einwilligung": "ja"})
    assert response.status_code == 400
    assert "Das Formular ist abgelaufen." in response.get_data(as_text=True)
    status, html = service.subscribe(homepage="http://spam.example")
    assert status == 200 and "Bestätigungslink" in html
    assert service.state() is None and not service.smtp.received


def test_confirmation_mails_per_address_are_limited(service: Service) -> None:
    for _ in range(5):
        status, html = service.subscribe()
        assert status == 200 and "Bestätigungslink" in html
    assert len(service.smtp.received) == 3
    service.clock.advance(hours=25)
    service.subscribe()
    assert len(service.smtp.received) == 4


def test_sign_ups_per_ip_are_limited(service: Service) -> None:
    for n in range(10):
        assert service.subscribe(f"person{n}@zeitung.example")[0] == 200
    status, html = service.subscribe("person10@zeitung.example")
    assert status == 429 and "Zu viele Anfragen" in html
    assert service.state("person10@zeitung.example") is None


def test_oversized_and_malformed_requests_are_4xx_pages(service: Service) -> None:
    response = service.client.post("/abo/abonnieren", data={"email": "x" * 20000})
    assert response.status_code == 413 and "Anfrage zu groß" in response.get_data(as_text=True)
    assert service.client.put("/abo/abonnieren").status_code == 405
    assert service.client.get("/abo/pressekit.toml").status_code == 404
    assert service.client.get("/pressekit.toml").status_code == 404
    assert service.client.get("/abo/../pressekit.toml").status_code == 404


def test_smtp_down_keeps_the_subscriber_pending_and_the_mail_owed(service: Service, tmp_path: Path) -> None:
    from pressekit.subscriptions.mailer import send_owed_mails
    from pressekit.subscriptions.site import load_service_site

    config = service.root / "pressekit.toml"
    text = config.read_text()
    down = text.replace(text[text.index("port = ", text.index("[smtp]")):].split("\n")[0], f"port = {free_port()}")
    config.write_text(down)
    client = create_app(service.root, clock=service.clock).test_client()
    page = client.get("/abo/abonnieren").get_data(as_text=True)
    response = client.post("/abo/abonnieren", data={"csrf": csrf(page), "email": ADDRESS, "einwilligung": "ja"})
    assert response.status_code == 200
    assert "die Bestätigungs-E-Mail konnte gerade nicht versendet werden" in response.get_data(as_text=True)
    assert service.state() == "pending"
    config.write_text(text)   # the server is back
    site = load_service_site(service.root)
    store = site.open_store()
    try:
        assert send_owed_mails(site, store, service.clock()) == 1
        assert send_owed_mails(site, store, service.clock()) == 0
    finally:
        store.close()
    assert "bestaetigen/" in service.mails()[-1]


def test_a_locked_store_is_a_503_page_and_writes_nothing(service: Service) -> None:
    service.subscribe()
    blocker = sqlite3.connect(service.root / ".pressekit" / "subscribers.sqlite", timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        import pressekit.subscriptions.store as store_module
        original = store_module.open_store

        def quick(root: Path, secret: bytes) -> store_module.Store:
            store = original(root, secret)
            store.db.execute("PRAGMA busy_timeout = 100")
            return store

        store_module.open_store = quick  # type: ignore[assignment]
        try:
            import pressekit.subscriptions.site as site_module
            site_module.open_store = quick  # type: ignore[assignment]
            status, html = service.subscribe("zweite@zeitung.example")
        finally:
            store_module.open_store = original  # type: ignore[assignment]
            site_module.open_store = original  # type: ignore[assignment]
    finally:
        blocker.rollback()
        blocker.close()
    assert status == 503 and "Es wurde nichts geändert" in html
    assert service.state("zweite@zeitung.example") is None


# --- concurrency --------------------------------------------------------------------------------

def test_fifty_parallel_sign_ups_of_one_address_make_one_row(service: Service) -> None:
    app = create_app(service.root, clock=service.clock)
    statuses: list[int] = []
    lock = threading.Lock()

    def sign_up(n: int) -> None:
        client = app.test_client()
        page = client.get("/abo/abonnieren").get_data(as_text=True)
        response = client.post("/abo/abonnieren", headers={"X-Forwarded-For": str(n)},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
                               data={"csrf": csrf(page), "email": ADDRESS.upper() if n % 2 else ADDRESS,
                                     "einwilligung": "ja"})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * 50
    db = sqlite3.connect(service.root / ".pressekit" / "subscribers.sqlite")
    try:
        assert db.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0] == 1
    finally:
        db.close()
    assert len(service.smtp.received) == 3   # the per-address limit holds under concurrency


# --- the office's commands ----------------------------------------------------------------------

def run(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["subscribers", *args, "--site", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_list_formats(service: Service) -> None:
    service.subscribe(name="Anna Beispiel", medium="Kreisblatt", themen="Verkehr")
    service.confirm()
    code, out, _ = run(service.root, "list", "--format", "json")
    assert code == 0
    [row] = json.loads(out)
    assert list(row) == ["email", "name", "medium", "state", "topics", "subscribed", "confirmed"]
    assert row | {"subscribed": "", "confirmed": ""} == {
        "email": ADDRESS, "name": "Anna Beispiel", "medium": "Kreisblatt", "state": "confirmed",
        "topics": "Verkehr", "subscribed": "", "confirmed": ""}
    code, out, _ = run(service.root, "list", "--format", "csv", "--state", "pending")
    assert out == "email,name,medium,state,topics,subscribed,confirmed\n"
    assert run(service.root, "export")[1].startswith(f"email,name,medium,state,topics,subscribed,confirmed\n{ADDRESS},")


def test_import_validates_the_whole_file_first(service: Service) -> None:
    service.subscribe()
    csv_file = service.root / "alt.csv"
    csv_file.write_text("email,name,topics\nok@zeitung.example,Ok,Verkehr\nkaputt,X,\n"
                        "zwei@zeitung.example,\"A <b>\",Kochen\n", encoding="utf-8")
    before = tree(service.root)
    code, _, err = run(service.root, "import", str(csv_file))
    assert code == 1
    assert err.splitlines() == [
        f"{csv_file}:3: email 'kaputt' is not a valid address",
        "  hint: one plain address per line, like redaktion@zeitung.de",
        f"{csv_file}:4: name 'A <b>' contains '<', which could smuggle an address into the To header",
        f"{csv_file}:4: unknown topic 'Kochen'",
        "  hint: topics are the site's tags: Umwelt, Verkehr, Verwaltung",
        "3 problems found; nothing was written.",
    ]
    assert tree(service.root) == before


def test_import_as_pending_sends_confirmations_and_confirmed_by_records_evidence(service: Service) -> None:
    csv_file = service.root / "alt.csv"
    csv_file.write_text("email,name,medium,topics\neins@zeitung.example,Eins,Blatt,verkehr\n"
                        "EINS@zeitung.example,,,\n", encoding="utf-8")
    code, out, err = run(service.root, "import", str(csv_file))
    assert code == 0, err
    assert out == "Imported 1 subscribers as pending: 1 confirmation mails sent.\n"
    assert err == f"{csv_file}:3: warning: EINS@zeitung.example is already on line 2; this line is left out\n"
    assert service.state("eins@zeitung.example") == "pending"
    csv_file.write_text("email\nzwei@zeitung.example\neins@zeitung.example\n", encoding="utf-8")
    code, out, err = run(service.root, "import", str(csv_file), "--confirmed-by", "Einwilligung per Fax 2024")
    assert code == 0 and out == "Imported 1 subscribers as confirmed.\n"
    assert "eins@zeitung.example is already a subscriber (pending); left as it is" in err
    assert service.state("zwei@zeitung.example") == "confirmed"
    show = run(service.root, "show", "zwei@zeitung.example")[1]
    assert f"confirmed  office  evidence: {csv_file}:2: Einwilligung per Fax 2024" in show
    assert len(service.smtp.received) == 1


def test_forget_leaves_no_clear_text_under_dot_pressekit(service: Service) -> None:
    service.subscribe(name="Anna Beispiel", medium="Kreisblatt")
    service.confirm()
    from pressekit.ledger import NewDelivery, open_ledger
    ledger = open_ledger(service.root)
    ledger.add_pending("2025-03-04-radweg", 1, [NewDelivery(ADDRESS, ADDRESS, "Anna Beispiel", "<x@y>")], service.clock())
    ledger.mark("2025-03-04-radweg", 1, ADDRESS, "failed", service.clock(), f"550 <{ADDRESS}> unknown")
    ledger.close()
    outbox = service.root / ".pressekit" / "outbox" / "2025-03-04-radweg"
    outbox.mkdir(parents=True)
    (outbox / f"1-{ADDRESS}.eml").write_text(f"To: {ADDRESS}\n")
    code, out, err = run(service.root, "forget", ADDRESS.upper())
    assert code == 0, err
    assert out.splitlines() == [f"{ADDRESS.upper()}: erased from the subscriber store",
                                f"{ADDRESS.upper()}: replaced by a keyed hash in 1 ledger row",
                                f"{ADDRESS.upper()}: 1 message removed from the outbox"]
    for path, data in tree(service.root / ".pressekit").items():
        for secret in (b"anna.beispiel", b"Anna Beispiel", b"Kreisblatt", b"127.0.0.1"):
            assert secret not in data, f"{secret!r} is still in .pressekit/{path}"
    assert run(service.root, "show", ADDRESS)[2] == f"Error: no subscriber with the address '{ADDRESS}'\n"
    csv_file = service.root / "alt.csv"
    csv_file.write_text(f"email\n{ADDRESS}\n", encoding="utf-8")
    code, _, err = run(service.root, "import", str(csv_file), "--confirmed-by", "alte Liste")
    assert code == 1
    assert f"{csv_file}:2: {ADDRESS} was erased on request (pressekit subscribers forget); it is not imported again" in err


# --- the static site ----------------------------------------------------------------------------

def test_newsroom_links_to_the_form_on_every_page_with_the_topic_preselected(tmp_path: Path) -> None:
    root = write_subs_site(tmp_path / "site", 25)
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", "2026-11-25T12:00:00+01:00"])
    assert result.exit_code == 0, result.output
    out = root / "output"
    form = "https://presse.beispielheim.example/abo/abonnieren"
    for page in ("index.html", "2025-03-04-radweg/index.html", "archiv/index.html"):
        assert f'<li><a href="{form}">Per E-Mail abonnieren</a></li>' in (out / page).read_text()
    tag_page = (out / "themen" / "verkehr" / "index.html").read_text()
    assert f'<a class="subscribe" href="{form}?thema=Verkehr">Thema „Verkehr“ per E-Mail</a>' in tag_page
    plain = write_subs_site(tmp_path / "plain", 25)
    (plain / "pressekit.toml").write_text((plain / "pressekit.toml").read_text().replace(
        'url = "https://presse.beispielheim.example/abo/"\n', ""))
    assert CliRunner().invoke(main, ["build", "--site", str(plain), "--now", "2026-11-25T12:00:00+01:00"]).exit_code == 0
    assert "abonnieren" not in (plain / "output" / "index.html").read_text()


def test_service_pages_link_the_legal_pages_like_every_page_of_the_site(tmp_path: Path) -> None:
    root = write_legal_pages(write_subs_site(tmp_path / "site", free_port()))
    client = create_app(root, clock=FakeClock()).test_client()
    for path in ("/abo/abonnieren", "/abo/bestaetigen/garbage"):
        page = client.get(path).get_data(as_text=True)
        footer = page[page.index('<footer class="site-footer"'):]
        for slug in ("impressum", "datenschutz", "barrierefreiheit"):
            assert f'href="https://presse.beispielheim.example/{slug}/"' in footer, (path, slug)
