"""`pressekit send --correction | --withdrawal | --takedown` against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from pressekit.ledger import read_ledger
from sitekit import CONFIG, write_photo, write_release, write_site
from smtp_server import FaultyHandler, Received, smtp_server

RID = "2025-03-04-radweg"
NOW = "2025-04-01T10:00:00+02:00"
REPO = Path(__file__).resolve().parents[1]
SEND = '''
[send]
rate = 0
suppress = "abgemeldet.txt"
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"
'''

ORIGINAL = """\
---
title: Kreis eröffnet neuen Radweg
date: 2025-03-04
photos:
  - file: radweg.jpg
    caption: Der neue Radweg
    credit: Jana Beispiel/ Landkreis Beispielheim
    alt: Ein Radweg zwischen Feldern
---
Der neue Radweg ist 4,2 Kilometer lang.
"""
FRONT_END = "    alt: Ein Radweg zwischen Feldern\n"
CORRECTED = ORIGINAL.replace(FRONT_END, FRONT_END + "corrections:\n  - date: 2025-03-20T09:00:00+01:00\n"
                                                   "    text: Der Radweg ist 4,8 Kilometer lang, nicht 4,2.\n")
WITHDRAWN = ORIGINAL.replace(FRONT_END, FRONT_END + "withdrawn:\n  date: 2025-03-21T09:00:00+01:00\n"
                                                   "  reason: Die Eröffnung ist verschoben.\n")
THREE = "email,name,tags\neins@example.org,Redaktion Eins,\nzwei@example.org,Redaktion Zwei,\ndrei@example.org,Redaktion Drei,\n"
FOUR = THREE + "vier@example.org,Redaktion Vier,\n"


@pytest.fixture
def handler() -> FaultyHandler:
    return FaultyHandler()


@pytest.fixture
def server(handler: FaultyHandler) -> Iterator[int]:
    with smtp_server(handler) as controller:
        yield controller.port


def make_site(root: Path, port: int) -> Path:
    smtp = f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 2\n'
    write_site(root, {RID: ORIGINAL}, CONFIG + SEND + smtp)
    write_photo(root / "releases" / RID / "radweg.jpg", (900, 600))
    (root / "abgemeldet.txt").write_text("# abgemeldet\n", encoding="utf-8")
    (root / "editors.csv").write_text(THREE, encoding="utf-8")
    return root


def send(root: Path, *args: str) -> tuple[int, str, str]:
    with contextlib.chdir(root):
        result = CliRunner().invoke(main, ["send", RID, "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def by_subject(handler: FaultyHandler, prefix: str) -> list[Received]:
    return [r for r in handler.received if str(r.message["Subject"]).startswith(prefix)]


def sent_to_three_then_a_fourth_joins(root: Path, handler: FaultyHandler) -> dict[str, str]:
    """Send the release to three editors; return address -> the Message-ID each received."""
    assert send(root, "--to", "editors.csv")[0] == 0
    originals = {r.rcpt_tos[0]: str(r.message["Message-ID"]) for r in handler.received}
    assert sorted(originals) == ["drei@example.org", "eins@example.org", "zwei@example.org"]
    (root / "editors.csv").write_text(FOUR, encoding="utf-8")
    return originals


def test_a_correction_reaches_exactly_those_who_got_the_release_threaded_once(tmp_path: Path,
                                                                             handler: FaultyHandler,
                                                                             server: int) -> None:
    root = make_site(tmp_path / "site", server)
    originals = sent_to_three_then_a_fourth_joins(root, handler)
    write_release(root, RID, CORRECTED)
    code, out, err = send(root, "--correction", "--to", "editors.csv")
    assert code == 0, err
    got = by_subject(handler, "KORREKTUR: ")
    assert sorted(r.rcpt_tos[0] for r in got) == sorted(originals)
    for r in got:
        message = r.message
        assert str(message["Subject"]) == "KORREKTUR: Kreis eröffnet neuen Radweg"
        assert message["In-Reply-To"] == message["References"] == originals[r.rcpt_tos[0]]
        assert message["Message-ID"] != originals[r.rcpt_tos[0]]
        text = message.get_body(("plain",)).get_content()
        assert text.splitlines()[:3] == ["Korrektur vom 20.03.2025, 09:00 Uhr: Der Radweg ist 4,8 Kilometer lang, nicht 4,2.",
                                          "Meldungsdatum: 04.03.2025", "Der neue Radweg ist 4,2 Kilometer lang."]
    # run again: nothing more
    assert send(root, "--correction")[0] == 0
    assert len(by_subject(handler, "KORREKTUR: ")) == 3
    ledger = read_ledger(root)
    assert ledger is not None
    try:
        rows = ledger.deliveries(f"{RID}.korrektur-20250320T0900")
        assert {d.address: d.state for d in rows.values()} == dict.fromkeys(originals, "sent")
        assert len(ledger.deliveries(RID)) == 3  # the release's own rows are untouched
    finally:
        ledger.close()


def run_correction(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "1"}
    return subprocess.Popen([sys.executable, "-m", "pressekit.cli", "send", RID, "--correction", "--site", str(root),
                             "--now", NOW, "--rate", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("kill_at", [1, 2])
def test_a_killed_correction_send_run_again_sends_each_at_most_once(tmp_path: Path, handler: FaultyHandler,
                                                                   server: int, kill_at: int) -> None:
    root = make_site(tmp_path / "site", server)
    originals = sent_to_three_then_a_fourth_joins(root, handler)
    write_release(root, RID, CORRECTED)
    proc = run_correction(root)

    def kill(got: Received) -> None:  # the server has the message, the client never hears back
        if len(by_subject(handler, "KORREKTUR: ")) == kill_at:
            proc.send_signal(signal.SIGKILL)

    handler.on_message = kill
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    handler.on_message = None
    rerun = run_correction(root)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 1, err  # the one in flight is unknown: a person decides
    counts = Counter(r.rcpt_tos[0] for r in by_subject(handler, "KORREKTUR: "))
    assert set(counts) == set(originals) and all(n == 1 for n in counts.values())
    assert b"1 message was in flight" in out or "in flight" in out.decode()


def test_withdrawal_lists_every_photo_and_its_credit(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server)
    originals = sent_to_three_then_a_fourth_joins(root, handler)
    write_release(root, RID, WITHDRAWN)
    assert send(root, "--withdrawal")[0] == 0
    got = by_subject(handler, "ZURÜCKGEZOGEN: ")
    assert sorted(r.rcpt_tos[0] for r in got) == sorted(originals)
    text = got[0].message.get_body(("plain",)).get_content()
    assert text.splitlines()[:4] == [
        "Bitte verwenden Sie die Meldung „Kreis eröffnet neuen Radweg“ vom 04.03.2025 nicht mehr.",
        "Sie wurde am 21.03.2025, 09:00 Uhr zurückgezogen: Die Eröffnung ist verschoben.",
        "Bitte löschen Sie die Fotos der Meldung:",
        "radweg.jpg (radweg-thumb.jpg, radweg-web.jpg, radweg-print.jpg), Foto: Jana Beispiel/ Landkreis Beispielheim",
    ]
    assert got[0].message["In-Reply-To"] == originals[got[0].rcpt_tos[0]]


def test_takedown_asks_to_delete_one_photo(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server)
    originals = sent_to_three_then_a_fourth_joins(root, handler)
    assert send(root, "--takedown", "radweg.jpg")[0] == 0
    got = by_subject(handler, "LÖSCHBITTE FOTO: ")
    assert sorted(r.rcpt_tos[0] for r in got) == sorted(originals)
    assert "radweg.jpg (radweg-thumb.jpg, radweg-web.jpg, radweg-print.jpg)" in \
        got[0].message.get_body(("plain",)).get_content()


def test_follow_ups_with_nothing_to_say_or_no_one_to_tell_send_nothing(tmp_path: Path, handler: FaultyHandler,
                                                                       server: int) -> None:
    root = make_site(tmp_path / "site", server)
    write_release(root, RID, CORRECTED)
    code, _, err = send(root, "--correction")
    assert code == 1
    assert err.splitlines()[0] == ("releases/2025-03-04-radweg/index.md:10: nothing to correct: "
                                   "the ledger has no recipients of 2025-03-04-radweg")
    assert send(root, "--to", "editors.csv")[0] == 0
    code, _, err = send(root, "--takedown", "karte.jpg")
    assert code == 1
    assert err.splitlines()[:2] == ["releases/2025-03-04-radweg/index.md:5: --takedown: 'karte.jpg' is not a photo "
                                    "of 2025-03-04-radweg", "  hint: its photos: radweg.jpg"]
    code, _, err = send(root, "--withdrawal")
    assert code == 1
    assert err.splitlines()[0] == "releases/2025-03-04-radweg/index.md:1: nothing to withdraw: the release has no 'withdrawn:'"
    assert len(handler.received) == 3


def test_a_withdrawn_release_is_not_sent_and_an_expired_photo_not_mailed(tmp_path: Path, handler: FaultyHandler,
                                                                         server: int) -> None:
    root = make_site(tmp_path / "site", server)
    write_release(root, RID, WITHDRAWN)
    code, _, err = send(root, "--to", "editors.csv")
    assert code == 1
    assert err.splitlines()[0] == "Error: 2025-03-04-radweg is withdrawn (withdrawn:); it is not sent any more"
    write_release(root, RID, ORIGINAL.replace(FRONT_END, FRONT_END + "    expires: 2025-03-31\n"))
    assert send(root, "--to", "editors.csv")[0] == 0
    text = handler.received[0].message.get_body(("plain",)).get_content()
    assert "radweg.jpg" not in text and "radweg-" not in text and "Foto:" not in text and "fotos.zip" not in text


@pytest.mark.parametrize("kind, args", [("correction", ("--correction",)), ("withdrawal", ("--withdrawal",))])
def test_follow_up_message_goldens(tmp_path: Path, handler: FaultyHandler, server: int, golden, kind: str,
                                   args: tuple[str, ...]) -> None:
    root = make_site(tmp_path / "site", server)
    assert send(root, "--to", "editors.csv")[0] == 0
    write_release(root, RID, CORRECTED if kind == "correction" else WITHDRAWN)
    assert send(root, *args, "--dry-run")[0] == 0
    (outbox,) = [p for p in (root / ".pressekit" / "outbox").iterdir() if p.name != RID]
    first = sorted(outbox.glob("*.eml"))[0]
    golden(f"lifecycle/{kind}.eml", first.read_bytes())
