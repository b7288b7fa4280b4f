"""`pressekit send` and `pressekit status` against a real SMTP server (aiosmtpd on 127.0.0.1) with faults."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from pressekit.errors import SourceError
from pressekit.ledger import read_ledger
from pressekit.send import EX_TEMPFAIL, RetryPolicy, SendOptions, format_summary, send_release
from pressekit.unsubscribe import verify_unsubscribe_token
from sitekit import CONFIG, SIMPLE, write_release, write_site
from smtp_server import (FaultyHandler, Received, password_authenticator, self_signed_cert, server_tls_context,
                         smtp_server)

RID = "2025-03-04-radweg"
NOW = "2025-04-01T10:00:00+02:00"
REPO = Path(__file__).resolve().parents[1]
SECRET = "geheimnis-fuer-tests-mindestens-32-bytes-lang"

SEND = '''
[send]
rate = 0
suppress = "abgemeldet.txt"
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"
unsubscribe_url = "https://presse.beispielheim.example/abmelden"
'''


def smtp_section(port: int, **extra: str | bool) -> str:
    def toml(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else f'"{value}"' if isinstance(value, str) else str(value)
    values = {"host": "127.0.0.1", "port": port, "timeout": 2, **extra}
    return "\n[smtp]\n" + "".join(f"{key} = {toml(value)}\n" for key, value in values.items())


def make_site(root: Path, port: int, editors: str, **smtp: str | bool) -> Path:
    write_site(root, {RID: SIMPLE}, CONFIG + SEND + smtp_section(port, **smtp))
    (root / "abgemeldet.txt").write_text("# abgemeldet\nAbgemeldet@Example.org\n", encoding="utf-8")
    (root / "editors.csv").write_text(editors, encoding="utf-8")
    return root


def editors(count: int, extra: str = "") -> str:
    return "email,name,tags\n" + "".join(f"r{i:03d}@example.org,Redaktion {i},\n" for i in range(count)) + extra


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def now(self) -> datetime:
        return datetime(2025, 4, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def handler() -> FaultyHandler:
    return FaultyHandler()


@pytest.fixture
def server(handler: FaultyHandler) -> Iterator[int]:
    """A plain SMTP server on a free port; yields the port."""
    with smtp_server(handler) as controller:
        yield controller.port


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSEKIT_UNSUBSCRIBE_SECRET", SECRET)


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    """Run `pressekit send` in the site folder, as a press officer would: `--to editors.csv`."""
    with contextlib.chdir(root):
        result = CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def status(root: Path) -> str:
    result = CliRunner().invoke(main, ["status", RID, "--site", str(root)])
    assert result.exit_code == 0
    return result.stdout


def api(root: Path, clock: FakeClock | None = None, **options: object):
    return send_release(root, RID, root / "editors.csv", "editors.csv", datetime.fromisoformat(NOW),
                        SendOptions(**options), clock=clock or FakeClock(),  # type: ignore[arg-type]
                        retry=RetryPolicy(attempts=3, backoff=5.0, reconnects=2))


def states(root: Path) -> dict[str, str]:
    ledger = read_ledger(root)
    assert ledger is not None
    try:
        return {d.address: d.state for d in ledger.deliveries(RID).values()}
    finally:
        ledger.close()


# --- the list is validated completely before anything is sent ---------------------------------

def test_every_problem_of_the_list_is_reported_and_nothing_is_sent(tmp_path: Path, handler: FaultyHandler,
                                                                 server: int) -> None:
    listing = ("email,name,tags\n"
               "ok@example.org,Gute Redaktion,\n"
               "kein-at.example.org,Ohne At,\n"
               '"a@example.org\r\nBcc: spion@evil.example",Umbruch in der Adresse,\n'
               '"b@example.org, c@example.org",Zwei Adressen,\n'
               '<d@example.org>,Spitze Klammern,\n'
               'e@example.org,"Max\r\nBcc: spion@evil.example",\n'
               'f@example.org,"Max, spion@evil.example",\n'
               'g@example.org,"Max"" <spion@evil.example>",\n'
               "h@example.org,Zu viele,Felder,hier\n"
               "OK@Example.org,Doppelt,\n")
    root = make_site(tmp_path / "site", server, listing)
    code, out, err = cli(root)
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "editors.csv:3: email 'kein-at.example.org' needs exactly one '@'",
        "  hint: one plain address per line, like redaktion@zeitung.de",
        "editors.csv:4: email 'a@example.org\\r\\nBcc: spion@evil.example' contains a space or line break",
        "  hint: one plain address per line, like redaktion@zeitung.de",
        "editors.csv:6: email 'b@example.org, c@example.org' contains a space or line break",
        "  hint: one plain address per line, like redaktion@zeitung.de",
        "editors.csv:7: email '<d@example.org>' has an invalid part before the '@' ('<d')",
        "  hint: one plain address per line, like redaktion@zeitung.de",
        "editors.csv:8: name 'Max\\r\\nBcc: spion@evil.example' contains a line break or control character "
        "(that could add a header)",
        "editors.csv:10: name 'Max, spion@evil.example' contains '@', which could smuggle an address into the To header",
        "editors.csv:11: name 'Max\" <spion@evil.example>' contains '\"', which could smuggle an address into the "
        "To header",
        "editors.csv:12: 4 fields, but the header names 3",
        '  hint: put a name that contains the separator in double quotes: "Redaktion, Ort"',
        "editors.csv:13: warning: OK@example.org is already on line 2; merged into one recipient",
        "8 problems found; nothing was sent.",
    ]
    assert handler.received == [] and handler.connections == 0
    assert not (root / ".pressekit" / "ledger.sqlite").exists()


def test_a_list_without_the_email_column_is_refused(tmp_path: Path, server: int) -> None:
    root = make_site(tmp_path / "site", server, "mail,name\nx@example.org,X\n")
    code, _, err = cli(root)
    assert code == 1
    assert err.splitlines()[:2] == [
        "editors.csv:1: unknown column 'mail'; expected the columns email, name, tags (tags optional)",
        "  hint: the first line is the header, e.g. email,name,tags"]


def test_a_german_excel_list_with_bom_and_semicolons_is_read(tmp_path: Path) -> None:
    from pressekit.recipients import Recipient, load_recipients

    path = tmp_path / "editors.csv"
    path.write_bytes("\ufeffE-Mail;Name\n".replace("E-Mail", "email").encode()
                     + "redaktion@zeitung.example;Redaktion Süd; Lokales\n".encode()
                     + "\n".encode()
                     + 'b@ZEITUNG.example;"Ressort Umwelt, Tageblatt"\n'.encode())
    recipients, problems = load_recipients(path, "editors.csv")
    assert problems == [SourceError("editors.csv", 2, "3 fields, but the header names 2",
                                    'put a name that contains the separator in double quotes: "Redaktion, Ort"')]
    path.write_bytes(path.read_bytes().replace(b"; Lokales", b""))
    recipients, problems = load_recipients(path, "editors.csv")
    assert (recipients, problems) == ([Recipient("redaktion@zeitung.example", "Redaktion Süd", (), 2),
                                       Recipient("b@zeitung.example", "Ressort Umwelt, Tageblatt", (), 4)], [])


def test_a_non_ascii_local_part_goes_out_with_smtputf8(tmp_path: Path, handler: FaultyHandler) -> None:
    with smtp_server(handler, enable_SMTPUTF8=True) as controller:
        root = make_site(tmp_path / "site", controller.port, editors(2, "jörg@example.org,Jörg Grün,\n"))
        code, out, err = cli(root)
    assert (code, err) == (0, "")
    assert out == f"{RID}: sent 3, skipped 0, deferred 0, failed 0, unknown 0.\n"
    [got] = [got for got in handler.received if got.rcpt_tos == ("jörg@example.org",)]
    assert got.message["To"] == "Jörg Grün <jörg@example.org>"
    assert got.data.split(b"\r\n\r\n")[0].count("To: =?utf-8?q?J=C3=B6rg_Gr=C3=BCn?= <jörg@example.org>".encode()) == 1
    assert states(root)["jörg@example.org"] == "sent"


def test_without_smtputf8_a_non_ascii_local_part_fails_and_the_rest_is_sent(tmp_path: Path,
                                                                          handler: FaultyHandler) -> None:
    with smtp_server(handler, enable_SMTPUTF8=False) as controller:
        root = make_site(tmp_path / "site", controller.port, editors(2, "jörg@example.org,Jörg,\n"))
        code, out, err = cli(root)
    assert (code, err) == (1, "")
    reason = ("message not built: the address 'jörg@example.org' has a non-ASCII part before the '@', and the SMTP "
              "server does not offer SMTPUTF8; ask the editor for an ASCII address")
    assert out == (f"{RID}: sent 2, skipped 0, deferred 0, failed 1, unknown 0.\n"
                   f"  failed   jörg@example.org  {reason}\n")
    assert sorted(handler.counts()) == ["r000@example.org", "r001@example.org"]
    assert states(root) == {"r000@example.org": "sent", "r001@example.org": "sent", "jörg@example.org": "failed"}


# --- the release is validated as `build` validates it ----------------------------------------------

RELEASE_OVERRIDE = '{% extends "base.html" %}\n{% block content %}\n<h1>{{ release.title }}</h1>\n{{ titel }}\n{% endblock %}\n'
PHOTO_ENTRY = """photos:
  - file: team.jpg
    caption: Die Landrätin mit der Wehr
    credit: Max Beispiel/ Landkreis
    alt: Menschen vor einem Feuerwehrauto
---"""
SOURCE = f"releases/{RID}/index.md"
BROKEN = {
    "photo": ("photo", f"{SOURCE}:6: photos[0].file: team.jpg is a text file, not a JPEG, PNG, WebP or TIFF image\n"
                       "  hint: check that the photo, not another file, is saved under this name"),
    "template": ("template", f"templates/release.html:4: 'titel' is undefined (while rendering {SOURCE})"),
}


@pytest.mark.parametrize("fault, message", BROKEN.values(), ids=BROKEN.keys())
@pytest.mark.parametrize("flags", [[], ["--dry-run"]])
def test_send_fails_on_what_fails_the_build(tmp_path: Path, handler: FaultyHandler, server: int, fault: str,
                                            message: str, flags: list[str]) -> None:
    root = make_site(tmp_path / "site", server, editors(2))
    if fault == "photo":
        index = root / "releases" / RID / "index.md"
        index.write_text(index.read_text(encoding="utf-8").replace("---\nDer", PHOTO_ENTRY + "\nDer", 1),
                         encoding="utf-8")
        (root / "releases" / RID / "team.jpg").write_text("kein Bild\n", encoding="utf-8")
    else:
        (root / "templates").mkdir()
        (root / "templates" / "release.html").write_text(RELEASE_OVERRIDE, encoding="utf-8")
    build = CliRunner().invoke(main, ["build", "--site", str(root), "--now", NOW])
    assert (build.exit_code, build.stderr) == (1, f"{message}\n1 problem found; nothing was written.\n")
    assert cli(root, *flags) == (1, "", f"{message}\n1 problem found; nothing was sent.\n")
    assert handler.received == []
    assert not (root / ".pressekit" / "outbox").exists()
    assert read_ledger(root) is None


def test_a_full_disk_for_the_outbox_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    root = make_site(tmp_path / "site", 9, editors(2))
    write_bytes = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if "outbox" in self.parts:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    assert cli(root, "--dry-run") == (
        1, "", f"Error: cannot write .pressekit/outbox/{RID}/1-r000@example.org.eml: No space left on device\n")
    assert not list((root / ".pressekit" / "outbox").rglob("*.*"))


# --- delivery: one message per recipient -------------------------------------------------------

def test_one_message_per_recipient_with_list_headers(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    listing = ("email,name,tags\n"
               "lokal@example.org,\"Redaktion Lindenbach, Tageblatt\",\n"
               "jörg@bücher.example,Jörg Müller-Weiß,\n".replace("jörg", "joerg")
               + "abgemeldet@example.org,Abgemeldet,\n"
               "sport@example.org,Sportredaktion,Sport\n"
               "umwelt@example.org,Umweltredaktion,Sport;umwelt\n"
               "LOKAL@example.org,Doppelt,\n")
    root = make_site(tmp_path / "site", server, listing)
    code, out, err = cli(root)
    assert (code, err) == (0, "editors.csv:7: warning: LOKAL@example.org is already on line 2; merged into one recipient\n")
    assert out == f"{RID}: sent 3, skipped 2 (1 suppressed, 1 other tags), deferred 0, failed 0, unknown 0.\n"
    assert sorted(handler.counts().items()) == [
        ("joerg@xn--bcher-kva.example", 1), ("lokal@example.org", 1), ("umwelt@example.org", 1)]
    by_rcpt = {got.rcpt_tos: got.message for got in handler.received}
    message = by_rcpt[("lokal@example.org",)]
    assert message["To"] == '"Redaktion Lindenbach, Tageblatt" <lokal@example.org>'
    assert len(message["To"].addresses) == 1
    assert "Cc" not in message and "Bcc" not in message
    assert message["List-Id"] == "<presse.beispielheim.example>"
    mailto, https = message["List-Unsubscribe"].split(", ")
    assert mailto == "<mailto:presse@beispielheim.example?subject=Abmelden>"
    token = https.removeprefix("<https://presse.beispielheim.example/abmelden?token=").removesuffix(">")
    assert verify_unsubscribe_token(SECRET.encode(), "presse.beispielheim.example", token) == "lokal@example.org"
    assert verify_unsubscribe_token(b"other", "presse.beispielheim.example", token) is None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(rf"<{RID}\.[0-9a-f]{{16}}@presse\.beispielheim\.example>", message["Message-ID"])
    assert len({m["Message-ID"] for m in by_rcpt.values()}) == 3
    assert by_rcpt[("joerg@xn--bcher-kva.example",)]["To"] == "Jörg Müller-Weiß <joerg@xn--bcher-kva.example>"
    assert {got.mail_from for got in handler.received} == {"presse@beispielheim.example"}

    again = cli(root)
    assert again[0] == 0
    assert again[1].splitlines()[-1] == f"{RID} has already been sent to all 3 recipients of editors.csv; --resend sends it again."
    assert len(handler.received) == 3
    assert status(root).splitlines()[1] == "  3 recipients: 3 sent, 0 pending, 0 deferred, 0 failed, 0 unknown"


def test_dry_run_writes_the_outbox_and_leaves_the_ledger_alone(tmp_path: Path, handler: FaultyHandler,
                                                               server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(3, "abgemeldet@example.org,Weg,\n"))
    code, out, _ = cli(root, "--dry-run")
    assert code == 0
    folder = root / ".pressekit" / "outbox" / RID
    assert out == f"Dry run: 3 messages of {RID} written to .pressekit/outbox/{RID}/ (nothing sent, the ledger is unchanged).\n"
    names = sorted(p.name for p in folder.iterdir())  # numbered in the shuffled order of sending
    assert [n.split("-", 1)[0] for n in names] == ["1", "2", "3"]
    assert sorted(n.split("-", 1)[1] for n in names) == ["r000@example.org.eml", "r001@example.org.eml",
                                                          "r002@example.org.eml"]
    [r001] = folder.glob("*-r001@example.org.eml")
    assert b"\nTo: Redaktion 1 <r001@example.org>\r\n" in r001.read_bytes()
    assert handler.received == [] and handler.connections == 0
    assert not (root / ".pressekit" / "ledger.sqlite").exists()


def test_resend_is_a_new_round_with_new_message_ids(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(2))
    assert cli(root)[0] == 0
    code, out, _ = cli(root, "--resend")
    assert code == 0
    assert out == f"{RID} (round 2): sent 2, skipped 0, deferred 0, failed 0, unknown 0.\n"
    first, second = ([m.message["Message-ID"] for m in handler.received if m.rcpt_tos == ("r000@example.org",)])
    assert second == first.replace("@", ".r2@")


def test_an_unfinished_resend_round_is_continued_not_restarted(tmp_path: Path, handler: FaultyHandler,
                                                              server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(3))
    api(root)
    handler.rcpt_replies["r001@example.org"] = "451 4.3.0 Mailbox busy"
    report = api(root, resend=True)
    assert (report.round, report.sent, report.exit_code) == (2, 2, EX_TEMPFAIL)
    del handler.rcpt_replies["r001@example.org"]
    report = api(root, resend=True)  # the same command again: finishes round 2
    assert (report.round, report.sent, report.already, report.exit_code) == (2, 1, 2, 0)
    assert handler.counts() == {"r000@example.org": 2, "r001@example.org": 2, "r002@example.org": 2}


# --- faults ------------------------------------------------------------------------------------

def test_faults_are_retried_recorded_and_reported(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(10))
    handler.rcpt_replies["r002@example.org"] = "550 5.1.1 User unknown"
    handler.rcpt_replies["r007@example.org"] = "550 5.1.1 User unknown"
    handler.data_replies_once["r003@example.org"] = "451 4.3.0 Try again later"
    handler.data_replies_once["r005@example.org"] = "451 4.3.0 Try again later"
    handler.drop_after = 3
    clock = FakeClock()
    report = api(root, clock)
    assert report.exit_code == 1
    summary = format_summary(report, "editors.csv")
    assert summary[0] == f"{RID}: sent 8, skipped 0, deferred 0, failed 2, unknown 0."
    assert sorted(summary[1:]) == [  # in the (shuffled) order of sending
        "  failed   r002@example.org  550 5.1.1 User unknown",
        "  failed   r007@example.org  550 5.1.1 User unknown"]
    counts = handler.counts()
    assert counts == {f"r{i:03d}@example.org": 1 for i in range(10) if i not in (2, 7)}
    assert handler.connections >= 3  # dropped after every third message and reconnected
    assert clock.sleeps == [5.0]  # one backoff wait covers both 451s
    ledger = read_ledger(root)
    assert ledger is not None
    rows = ledger.deliveries(RID)
    ledger.close()
    assert (rows["r003@example.org"].state, rows["r003@example.org"].attempts) == ("sent", 2)
    assert (rows["r002@example.org"].state, rows["r002@example.org"].attempts) == ("failed", 1)
    assert rows["r002@example.org"].reply == "550 5.1.1 User unknown"
    assert report.count("failed") == 2
    # a second run never retries permanent failures
    again = api(root, clock)
    assert (again.sent, again.already, again.exit_code) == (0, 8, 1)
    assert handler.counts() == counts
    stamp = "2025-04-01T08:00:00+00:00"
    lines = status(root).splitlines()
    assert lines[:2] + sorted(lines[2:]) == [
        f"{RID}: round 1, started {stamp}, last change {stamp}",
        "  10 recipients: 8 sent, 0 pending, 0 deferred, 2 failed, 0 unknown",
        f"  failed   r002@example.org  550 5.1.1 User unknown  (1 attempt, {stamp})",
        f"  failed   r007@example.org  550 5.1.1 User unknown  (1 attempt, {stamp})"]


def test_a_lasting_4xx_is_deferred_exit_75_and_sent_by_the_next_run(tmp_path: Path, handler: FaultyHandler,
                                                                    server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(3))
    handler.rcpt_replies["r001@example.org"] = "452 4.2.2 Mailbox full"
    clock = FakeClock()
    report = api(root, clock)
    assert report.exit_code == EX_TEMPFAIL == 75
    assert clock.sleeps == [5.0, 10.0]  # three tries with exponential backoff
    assert states(root)["r001@example.org"] == "deferred"
    assert "Run the same command again later: deferred messages are sent then." in format_summary(report, "x")
    del handler.rcpt_replies["r001@example.org"]
    again = api(root, clock)
    assert (again.sent, again.already, again.exit_code) == (1, 2, 0)
    assert handler.counts() == {"r000@example.org": 1, "r001@example.org": 1, "r002@example.org": 1}


def test_a_reply_lost_after_the_body_is_unknown_and_not_resent(tmp_path: Path, handler: FaultyHandler,
                                                               server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(3))
    text = (root / "pressekit.toml").read_text().replace("timeout = 2", "timeout = 0.3")
    (root / "pressekit.toml").write_text(text)
    handler.slow_once["r001@example.org"] = 0.8
    code, out, _ = cli(root)
    assert code == 1
    assert out.splitlines()[:2] == [
        f"{RID}: sent 2, skipped 0, deferred 0, failed 0, unknown 1.",
        "  unknown  r001@example.org  no reply after the message was sent: Connection unexpectedly closed: timed out"]
    assert cli(root)[0] == 1
    assert handler.counts()["r001@example.org"] == 1  # the server had it; the second run did not send again
    code, out, _ = cli(root, "--retry-unknown")
    assert code == 0
    copies = [got.message["Message-ID"] for got in handler.received if got.rcpt_tos == ("r001@example.org",)]
    assert len(copies) == 2 and copies[0] == copies[1]  # a retry keeps the Message-ID
    assert status(root).splitlines()[1] == "  3 recipients: 3 sent, 0 pending, 0 deferred, 0 failed, 0 unknown"


def test_a_server_that_goes_away_leaves_the_rest_deferred_for_the_next_run(tmp_path: Path,
                                                                           handler: FaultyHandler) -> None:
    from aiosmtpd.controller import Controller

    from smtp_server import HOST, free_port

    gone = Controller(handler, hostname=HOST, port=free_port())
    gone.start()
    root = make_site(tmp_path / "site", gone.port, editors(20))
    stopper = threading.Thread(target=gone.stop)
    handler.on_message = lambda got: stopper.start() if len(handler.received) == 5 else None
    report = api(root)
    stopper.join()
    assert report.exit_code in (EX_TEMPFAIL, 1)  # 1 when the fifth message's reply was lost with the server
    assert report.stopped.startswith(f"cannot reach the SMTP server 127.0.0.1:{gone.port}: ")
    assert report.count("deferred") >= 14 and report.count("unknown") <= 1
    assert set(states(root).values()) <= {"sent", "deferred", "unknown"}
    handler.on_message = None
    with smtp_server(handler) as controller:  # the cable is back in
        text = (root / "pressekit.toml").read_text().replace(f"port = {gone.port}", f"port = {controller.port}")
        (root / "pressekit.toml").write_text(text)
        again = api(root)
    assert again.count("deferred") == 0
    assert set(handler.counts().values()) == {1}
    assert len(handler.counts()) >= 20 - again.count("unknown")


def test_an_unreachable_server_is_exit_75_with_nothing_recorded(tmp_path: Path) -> None:
    from smtp_server import free_port

    root = make_site(tmp_path / "site", free_port(), editors(2))
    code, _, err = cli(root)
    assert code == 75
    assert err.startswith("Error: cannot reach the SMTP server 127.0.0.1:")
    assert err.endswith("; nothing was sent\n")


# --- TLS and authentication --------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_authentication_failure_stops_at_once(tmp_path: Path, handler: FaultyHandler,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    auth = password_authenticator("presse", "richtig")
    with smtp_server(handler, authenticator=auth, auth_require_tls=False) as controller:
        root = make_site(tmp_path / "site", controller.port, editors(3), username="presse")
        code, _, err = cli(root)
        assert (code, err) == (1, "Error: [smtp] username is 'presse', but the environment variable "
                                  "PRESSEKIT_SMTP_PASSWORD ([smtp] password_env) that holds the password is not set\n")
        monkeypatch.setenv("PRESSEKIT_SMTP_PASSWORD", "falsch")
        code, _, err = cli(root)
        assert code == 1
        assert err == (f"Error: the SMTP server 127.0.0.1:{controller.port} refused the login of 'presse': "
                       "535 5.7.8 Authentication credentials invalid\n")
        assert handler.received == []
        assert states(root) == {}  # nothing recorded, nothing marked sent
        monkeypatch.setenv("PRESSEKIT_SMTP_PASSWORD", "richtig")
        assert cli(root)[0] == 0
        assert len(handler.received) == 3


# aiosmtpd counts only STARTTLS as TLS for AUTH; on an implicit-TLS port AUTH needs auth_require_tls=False.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_tls_with_authentication(tmp_path: Path, handler: FaultyHandler, monkeypatch: pytest.MonkeyPatch,
                                 mode: str) -> None:
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts only this certificate
    monkeypatch.setenv("PRESSEKIT_SMTP_PASSWORD", "richtig")
    context = server_tls_context(cert, key)
    tls = ({"tls_context": context, "require_starttls": True} if mode == "starttls"
           else {"ssl_context": context, "auth_require_tls": False})
    with smtp_server(handler, authenticator=password_authenticator("presse", "richtig"), **tls) as controller:
        root = make_site(tmp_path / "site", controller.port, editors(2), username="presse", **{mode: True})
        code, out, err = cli(root)
    assert (code, err) == (0, "")
    assert sorted(handler.counts()) == ["r000@example.org", "r001@example.org"]


# --- rate limit --------------------------------------------------------------------------------

def test_the_rate_limit_spaces_messages(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(5))
    clock = FakeClock()
    done_at: list[float] = []
    send_release(root, RID, root / "editors.csv", "editors.csv", datetime.fromisoformat(NOW),
                 SendOptions(rate=30), clock=clock, progress=lambda stage, done, total: done_at.append(clock.t))
    gaps = [b - a for a, b in zip(done_at[1:], done_at[2:])]
    assert gaps == [2.0, 2.0, 2.0, 2.0]  # 30 a minute: one every two seconds
    assert len(handler.received) == 5
    unlimited = FakeClock()
    api(root, unlimited, resend=True, rate=0)
    assert unlimited.sleeps == []


# --- embargo and drafts ------------------------------------------------------------------------

EMBARGOED = SIMPLE.replace("date: 2025-03-04\n", "date: 2025-03-04\nembargo: 2025-04-01T12:00:00+02:00\n")


def test_embargo_needs_the_flag_and_then_carries_the_sperrfrist(tmp_path: Path, handler: FaultyHandler,
                                                                server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(1))
    write_release(root, RID, EMBARGOED)
    code, _, err = cli(root)
    assert (code, err) == (1, f"Error: {RID} is under embargo until 01.04.2025, 12:00 Uhr (Sperrfrist); it is sent "
                              "before then only with --embargo, which puts the Sperrfrist into subject and body\n")
    assert cli(root, "--embargo")[0] == 0
    message = handler.received[0].message
    assert message["Subject"].startswith("Sperrfrist 01.04.2025 12:00 Uhr: ")
    assert "Sperrfrist: 01.04.2025, 12:00 Uhr" in message.get_body(("plain",)).get_content()


def test_drafts_are_never_sent(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(1))
    write_release(root, RID, SIMPLE.replace("tags:", "draft: true\ntags:"))
    for flags in ((), ("--embargo",), ("--dry-run",)):
        code, _, err = cli(root, *flags)
        assert (code, err) == (1, f"Error: {RID} is a draft (draft: true); drafts are never sent\n")
    assert handler.received == []


def test_a_future_release_and_an_unknown_id_are_refused(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(1))
    write_release(root, RID, SIMPLE.replace("date: 2025-03-04", "date: 2025-05-04"))
    assert cli(root) == (1, "", f"Error: {RID} is dated 04.05.2025, later than now; it is not public yet\n"
                                "  hint: give it an embargo and send it ahead with --embargo\n")
    result = CliRunner().invoke(main, ["send", "2025-03-04-radwge", "--to", "x.csv", "--site", str(root)])
    assert (result.exit_code, result.stderr) == (1, "Error: no release with the id '2025-03-04-radwge'\n"
                                                    "  hint: did you mean '2025-03-04-radweg'?\n")
    assert handler.received == []


# --- kill -9 at any moment ---------------------------------------------------------------------

def run_send(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "1"}
    return subprocess.Popen([sys.executable, "-m", "pressekit.cli", "send", RID, "--to", str(root / "editors.csv"),
                             "--site", str(root), "--now", NOW, "--rate", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_killed_at_any_moment_every_recipient_gets_it_once(tmp_path: Path, handler: FaultyHandler, server: int,
                                                          seed: int) -> None:
    rng = random.Random(seed)
    root = make_site(tmp_path / "site", server, editors(200))
    kill_at, in_handler = rng.randint(1, 199), seed % 2 == 0
    proc = run_send(root)

    def maybe_kill(got: Received) -> None:
        if len(handler.received) != kill_at:
            return
        if in_handler:  # the server has the message, the client never hears back
            proc.send_signal(signal.SIGKILL)
        else:           # somewhere in the next transaction
            threading.Timer(rng.uniform(0, 0.01), proc.send_signal, (signal.SIGKILL,)).start()

    handler.on_message = maybe_kill
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    handler.on_message = None
    rerun = run_send(root)
    out, err = rerun.communicate(timeout=60)
    ledger = states(root)
    unknown = [a for a, s in ledger.items() if s == "unknown"]
    assert len(unknown) <= 1, out
    assert rerun.returncode == (1 if unknown else 0), err
    counts = handler.counts()
    assert len(ledger) == 200
    assert all(counts[a] == 1 for a, s in ledger.items() if s == "sent")  # everyone exactly once ...
    assert all(s in ("sent", "unknown") and counts[a] <= 1 for a, s in ledger.items())  # ... the one in flight at most once
    if in_handler:
        assert unknown == list(handler.received[kill_at - 1].rcpt_tos) and counts[unknown[0]] == 1
    summary = status(root).splitlines()
    assert summary[1] == (f"  200 recipients: {200 - len(unknown)} sent, 0 pending, 0 deferred, 0 failed, "
                          f"{len(unknown)} unknown")


def test_a_second_run_at_the_same_time_is_refused(tmp_path: Path, server: int) -> None:
    import fcntl

    root = make_site(tmp_path / "site", server, editors(1))
    lock = root / ".pressekit" / f"send-{RID}.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _, err = cli(root)
    assert (code, err) == (1, f"Error: another 'pressekit send {RID}' is running in this site\n")
