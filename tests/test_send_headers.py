"""What each sent message carries: IDNA 2008 domains, the Date of hand-over and the automatic-mail headers."""

from __future__ import annotations

import contextlib
import email.utils
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.addresses import ascii_domain
from pressekit.cli import main
from pressekit.send import SendOptions, send_release
from sitekit import CONFIG, SIMPLE, write_site
from smtp_server import FaultyHandler, smtp_server

RID = "2025-03-04-radweg"
NOW = "2025-04-01T10:00:00+02:00"
SEND = '''
[send]
rate = 60
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"
'''


def make_site(root: Path, port: int, editors: str) -> Path:
    write_site(root, {RID: SIMPLE}, CONFIG + SEND + f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 2\n')
    (root / "editors.csv").write_text(editors, encoding="utf-8")
    return root


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(root):
        result = CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


class TickingClock:
    """A fake clock whose wall time moves with its monotonic time (only when the code sleeps)."""

    START = datetime(2025, 4, 1, 7, 30, tzinfo=timezone.utc)

    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds

    def now(self) -> datetime:
        return self.START + timedelta(seconds=self.t)


@pytest.mark.parametrize("domain, expected", [
    ("straße.de", "xn--strae-oqa.de"),        # IDNA 2003 would say strasse.de: another domain
    ("München.de", "xn--mnchen-3ya.de"),
    ("Zeitung.Example", "zeitung.example"),
])
def test_domains_are_idna_2008(domain: str, expected: str) -> None:
    assert ascii_domain(domain) == expected


def test_umlaut_domains_reach_their_own_domain(tmp_path: Path) -> None:
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        root = make_site(tmp_path, controller.port, "email,name\nredaktion@straße.de,Straße\nred@münchen.de,München\n")
        code, out, err = cli(root, "--rate", "0")
    assert (code, err) == (0, "")
    assert sorted(r for got in handler.received for r in got.rcpt_tos) == [
        "red@xn--mnchen-3ya.de", "redaktion@xn--strae-oqa.de"]
    by_rcpt = {got.rcpt_tos[0]: got.message for got in handler.received}
    assert by_rcpt["redaktion@xn--strae-oqa.de"]["To"] == "Straße <redaktion@xn--strae-oqa.de>"


def test_a_domain_idna_refuses_is_a_list_error(tmp_path: Path) -> None:
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        root = make_site(tmp_path, controller.port, "email,name\nok@example.org,OK\nred@a\u200db.de,Joiner\n")
        code, out, err = cli(root)
    assert code == 1
    assert err.splitlines()[0] == ("editors.csv:3: email 'red@a\\u200db.de' has an invalid domain ('a\\u200db.de': "
                                   "Joiner U+200D not allowed at position 2 in 'a\\u200db')")
    assert handler.received == []


def test_non_ascii_local_part_needs_smtputf8(tmp_path: Path) -> None:
    handler = FaultyHandler()
    with smtp_server(handler, enable_SMTPUTF8=False) as controller:
        root = make_site(tmp_path, controller.port, "email,name\nok@example.org,OK\njörg@example.org,Jörg\n")
        code, out, err = cli(root)
    assert code == 1
    assert out.splitlines()[1] == (
        "  failed   jörg@example.org  message not built: the address 'jörg@example.org' has a non-ASCII part "
        "before the '@', and the SMTP server does not offer SMTPUTF8; ask the editor for an ASCII address")
    assert [got.rcpt_tos for got in handler.received] == [("ok@example.org",)]


def test_date_is_the_hand_over_and_the_message_is_marked_automatic(tmp_path: Path) -> None:
    handler = FaultyHandler()
    clock = TickingClock()
    with smtp_server(handler) as controller:
        root = make_site(tmp_path, controller.port, "email,name\n" + "".join(f"r{i}@example.org,R{i}\n"
                                                                          for i in range(3)))
        report = send_release(root, RID, root / "editors.csv", "editors.csv", datetime.fromisoformat(NOW),
                              SendOptions(), clock=clock)  # rate 60: one message a second
    assert report.sent == 3
    dates = sorted(email.utils.parsedate_to_datetime(got.message["Date"]) for got in handler.received)
    assert dates == [TickingClock.START + timedelta(seconds=n) for n in range(3)]
    assert handler.received[0].message["Date"] == "Tue, 01 Apr 2025 09:30:00 +0200"  # the site's zone
    for got in handler.received:
        message = got.message
        assert (message["Auto-Submitted"], message["Precedence"], message["X-Auto-Response-Suppress"]) == (
            "auto-generated", "bulk", "All")


def test_static_release_eml_keeps_the_publication_time(tmp_path: Path) -> None:
    root = write_site(tmp_path, {RID: SIMPLE})
    result = CliRunner().invoke(main, ["email", RID, "--eml", "--site", str(root)])
    assert result.exit_code == 0
    head = result.stdout_bytes.split(b"\r\n\r\n")[0].decode("ascii")
    assert "\r\nDate: Tue, 04 Mar 2025 00:00:00 +0100\r\n" in head
    assert "Auto-Submitted" not in head


# --- equal treatment: shuffled order and the report -------------------------------------------

EMBARGOED = SIMPLE.replace("date: 2025-03-04\n", "date: 2025-03-04\nembargo: 2025-04-01T11:00:00+02:00\n")


def test_report_lists_acceptance_in_order_with_the_spread(tmp_path: Path) -> None:
    from pressekit.send import shuffle_seed

    handler = FaultyHandler(rcpt_replies={"r3@example.org": "550 5.1.1 User unknown"})
    clock = TickingClock()
    with smtp_server(handler) as controller:
        root = make_site(tmp_path, controller.port, "email,name\n" + "".join(f"r{i}@example.org,R{i}\n"
                                                                          for i in range(6)))
        (root / "releases" / RID / "index.md").write_text(EMBARGOED, encoding="utf-8")
        send_release(root, RID, root / "editors.csv", "editors.csv", datetime.fromisoformat(NOW),
                     SendOptions(embargo=True), clock=clock)
    order = [got.rcpt_tos[0] for got in handler.received]
    assert sorted(order) == [f"r{i}@example.org" for i in range(6) if i != 3]
    assert order != sorted(order)  # shuffled, with the seed of this release and round
    csv_out = CliRunner().invoke(main, ["status", RID, "--site", str(root), "--report", "--format", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    rows = csv_out.stdout.splitlines()
    assert rows[0] == "position,accepted,address,name,state,message_id,before_embargo"
    ids = {got.rcpt_tos[0]: got.message["Message-ID"] for got in handler.received}
    assert rows[1:6] == [f"{n + 1},2025-04-01T09:30:{n:02d}+02:00,{a},R{a[1]},sent,{ids[a]},yes"
                         for n, a in enumerate(order)]
    assert rows[6].startswith(f"6,,r3@example.org,R3,failed,<{RID}.") and rows[6].endswith(">,")
    md = CliRunner().invoke(main, ["status", RID, "--site", str(root), "--report"])
    assert md.exit_code == 0, md.output
    assert md.stdout.splitlines()[:10] == [
        f"# Versandnachweis {RID}", "",
        "- Runde: 1",
        "- Empfänger: 6, angenommen: 5",
        "- Erste Annahme: 2025-04-01T09:30:00+02:00",
        "- Letzte Annahme: 2025-04-01T09:30:04+02:00",
        "- Spanne: 0:00:04",
        f"- Reihenfolge zufällig gemischt, Startwert: {shuffle_seed(RID, 1)}",
        "- Sperrfrist: 2025-04-01T11:00:00+02:00",
        ""]
    assert md.stdout.splitlines()[12] == (f"| 1 | 2025-04-01T09:30:00+02:00 | {order[0]} | R{order[0][1]} | sent | "
                                          f"{ids[order[0]]} | ja |")


def test_report_without_a_sending(tmp_path: Path) -> None:
    root = make_site(tmp_path, 25, "email,name\n")
    result = CliRunner().invoke(main, ["status", RID, "--site", str(root), "--report"])
    assert (result.exit_code, result.stderr) == (1, f"Error: no sending of {RID} is recorded\n")
