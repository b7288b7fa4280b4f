"""Hardening of `pressekit send`: the unsubscribe key, a damaged ledger, suppressions added mid-send, and the
preview picking up folders created while it runs. Every refusal leaves the ledger and the sources byte for byte."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from pressekit.serve import PreviewServer
from pressekit.unsubscribe import verify_unsubscribe_token
from sitekit import SIMPLE, write_site
from smtp_server import FaultyHandler, Received, smtp_server
from test_send import NOW, RID, SECRET, editors, make_site

LEDGER = Path(".pressekit/ledger.sqlite")
KEY = Path(".pressekit/unsubscribe.key")
LOCK = Path(f".pressekit/send-{RID}.lock")  # the run's lock file, made before the ledger is looked at
DAMAGED = ("Error: .pressekit/ledger.sqlite: the ledger is damaged ({}); restore it from a backup or start anew "
           "with --new-ledger\n")


@pytest.fixture
def handler() -> FaultyHandler:
    return FaultyHandler()


@pytest.fixture
def server(handler: FaultyHandler) -> Iterator[int]:
    with smtp_server(handler) as controller:
        yield controller.port


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSEKIT_UNSUBSCRIBE_SECRET", SECRET)


def send(root: Path, *args: str) -> tuple[int, str, str]:
    """`pressekit send` in the site folder, as a press officer runs it."""
    with contextlib.chdir(root):
        result = CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def status(root: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["status", RID, "--site", str(root)])
    return result.exit_code, result.stdout, result.stderr


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the site (sources, ledger, key) by path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root) != LOCK}


# --- the unsubscribe key ------------------------------------------------------------------------

KEY_HINT = ("  hint: delete the file and pressekit makes a new random key (unsubscribe links in messages sent "
            "before then stop working)\n")
ENV_HINT = ("  hint: set it to a long random value, e.g. the output of: "
            "python3 -c 'import secrets; print(secrets.token_hex(32))'\n")
SHORT = "the unsubscribe key has {} bytes, at least 32 are needed (a short key lets anyone forge unsubscribe links)"


@pytest.mark.parametrize(("key_file", "env", "expected"), [
    (b"", None, f"Error: .pressekit/unsubscribe.key: {SHORT.format(0)}\n" + KEY_HINT),
    (b"\n", None, f"Error: .pressekit/unsubscribe.key: {SHORT.format(0)}\n" + KEY_HINT),
    (b"0123456789abcdef0123456789abcde\n", None, f"Error: .pressekit/unsubscribe.key: {SHORT.format(31)}\n" + KEY_HINT),
    (None, "", f"Error: $PRESSEKIT_UNSUBSCRIBE_SECRET: {SHORT.format(0)}\n" + ENV_HINT),
    (None, "geheimnis", f"Error: $PRESSEKIT_UNSUBSCRIBE_SECRET: {SHORT.format(9)}\n" + ENV_HINT),
], ids=["empty-file", "blank-file", "31-bytes", "empty-env", "short-env"])
def test_a_short_unsubscribe_key_is_refused_and_nothing_is_sent(
        tmp_path: Path, handler: FaultyHandler, server: int, monkeypatch: pytest.MonkeyPatch,
        key_file: bytes | None, env: str | None, expected: str) -> None:
    root = make_site(tmp_path / "site", server, editors(2))
    if key_file is not None:
        (root / KEY).parent.mkdir()
        (root / KEY).write_bytes(key_file)
    if env is None:
        monkeypatch.delenv("PRESSEKIT_UNSUBSCRIBE_SECRET")
    else:
        monkeypatch.setenv("PRESSEKIT_UNSUBSCRIBE_SECRET", env)
    before = snapshot(root)
    for flags in ((), ("--dry-run",)):
        assert send(root, *flags) == (1, "", expected)
    assert snapshot(root) == before
    assert handler.received == []


def test_the_key_is_made_once_complete_and_private(tmp_path: Path, handler: FaultyHandler, server: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRESSEKIT_UNSUBSCRIBE_SECRET")
    root = make_site(tmp_path / "site", server, editors(1))
    assert send(root)[0] == 0
    key = (root / KEY).read_bytes()
    assert len(key) == 65 and key.endswith(b"\n") and bytes.fromhex(key.decode())
    assert stat.S_IMODE((root / KEY).stat().st_mode) == 0o600
    assert sorted(p.name for p in (root / KEY).parent.iterdir() if "unsubscribe" in p.name) == ["unsubscribe.key"]
    token = handler.received[0].message["List-Unsubscribe"].split("token=")[1].rstrip(">")
    assert verify_unsubscribe_token(key.strip(), "presse.beispielheim.example", token) == "r000@example.org"
    assert send(root, "--resend")[0] == 0
    assert (root / KEY).read_bytes() == key  # made once


# --- a damaged ledger ---------------------------------------------------------------------------

def empty(path: Path) -> None:
    path.write_bytes(b"")


def drop_table(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("DROP TABLE deliveries")
        db.commit()


def garble(path: Path) -> None:
    path.write_bytes(b"Dies ist keine Datenbank.\n" * 200)


@pytest.mark.parametrize(("damage", "reason"), [
    (empty, "the file is empty"),
    (drop_table, "the table of deliveries is missing"),
    (garble, "not an SQLite database: file is not a database"),
], ids=["emptied", "table-dropped", "garbled"])
def test_a_damaged_ledger_is_refused_and_nothing_is_sent(tmp_path: Path, handler: FaultyHandler, server: int,
                                                         damage, reason: str) -> None:
    root = make_site(tmp_path / "site", server, editors(3))
    assert send(root)[0] == 0
    damage(root / LEDGER)
    before = snapshot(root)
    received = len(handler.received)
    for flags in ((), ("--resend",), ("--dry-run",)):
        assert send(root, *flags) == (1, "", DAMAGED.format(reason)), flags
    assert status(root) == (1, "", DAMAGED.format(reason))
    assert snapshot(root) == before
    assert len(handler.received) == received

    code, out, err = send(root, "--new-ledger")
    assert (code, err) == (0, "")
    (moved,) = (root / ".pressekit").glob("ledger.sqlite.damaged-*")
    assert re.fullmatch(r"ledger\.sqlite\.damaged-\d{8}T\d{6}", moved.name)  # stamped by the clock, not --now
    assert out.splitlines()[0] == f"The damaged ledger was moved to .pressekit/{moved.name}; a new one was started."
    assert out.splitlines()[1] == f"{RID}: sent 3, skipped 0, deferred 0, failed 0, unknown 0."
    assert moved.read_bytes() == before[str(LEDGER)]  # kept, never deleted
    assert status(root)[1].splitlines()[1] == "  3 recipients: 3 sent, 0 pending, 0 deferred, 0 failed, 0 unknown"


def test_new_ledger_leaves_an_intact_ledger_alone(tmp_path: Path, handler: FaultyHandler, server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(2))
    assert send(root)[0] == 0
    before = snapshot(root)
    assert send(root, "--new-ledger") == (
        1, "", "Error: .pressekit/ledger.sqlite: the ledger is intact; --new-ledger only replaces a damaged one\n")
    assert snapshot(root) == before
    assert len(handler.received) == 2


def test_a_ledger_of_an_older_pressekit_is_upgraded_and_honoured(tmp_path: Path, handler: FaultyHandler,
                                                                  server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(2))
    (root / LEDGER).parent.mkdir()
    with contextlib.closing(sqlite3.connect(root / LEDGER)) as db:  # the schema before `suppressed` and user_version
        db.executescript(f"""
            CREATE TABLE deliveries (release TEXT NOT NULL, round INTEGER NOT NULL, recipient TEXT NOT NULL,
                address TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', state TEXT NOT NULL CHECK (state IN
                ('pending','sending','sent','deferred','failed','unknown')), message_id TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, reply TEXT NOT NULL DEFAULT '', created TEXT NOT NULL,
                updated TEXT NOT NULL, PRIMARY KEY (release, round, recipient));
            INSERT INTO deliveries VALUES ('{RID}', 1, 'r000@example.org', 'r000@example.org', '', 'sent', '<a@b>',
                1, '250 OK', '2025-04-01T08:00:00+00:00', '2025-04-01T08:00:00+00:00');""")
    code, out, _ = send(root)
    assert (code, out) == (0, f"{RID}: sent 1, skipped 1 (1 sent before), deferred 0, failed 0, unknown 0.\n")
    assert handler.counts() == {"r001@example.org": 1}
    with contextlib.closing(sqlite3.connect(root / LEDGER)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)


# --- the suppression list is read again during a send -------------------------------------------

def test_an_address_suppressed_during_the_send_receives_nothing(tmp_path: Path, handler: FaultyHandler,
                                                                server: int) -> None:
    root = make_site(tmp_path / "site", server, editors(5))

    def unsubscribe_after_first(got: Received) -> None:
        if len(handler.received) == 1:  # the editor clicks "abmelden" while the send is under way
            with open(root / "abgemeldet.txt", "a", encoding="utf-8") as f:
                f.write("R003@example.org\n")

    handler.on_message = unsubscribe_after_first
    code, out, err = send(root)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{RID}: sent 4, skipped 1 (1 suppressed), deferred 0, failed 0, unknown 0.",
        "  suppressed r003@example.org  on abgemeldet.txt since the run began"]
    assert sorted(handler.counts()) == ["r000@example.org", "r001@example.org", "r002@example.org",
                                        "r004@example.org"]
    lines = status(root)[1].splitlines()
    assert lines[1] == "  5 recipients: 4 sent, 0 pending, 0 deferred, 0 failed, 0 unknown, 1 suppressed"
    assert lines[2].startswith("  suppressed r003@example.org  on abgemeldet.txt since the run began  (0 attempts, ")
    handler.on_message = None
    assert send(root)[1] == (f"{RID}: sent 0, skipped 5 (1 suppressed, 4 sent before), deferred 0, failed 0, "
                             f"unknown 0.\n{RID} has already been sent to all 4 recipients of editors.csv; "
                             "--resend sends it again.\n")
    assert len(handler.received) == 4


# --- the preview watches for folders created while it runs --------------------------------------

def test_serve_picks_up_a_templates_folder_created_while_it_runs(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    root = write_site(tmp_path / "site", {RID: SIMPLE})
    assert not (root / "templates").exists()
    with PreviewServer(root, port=0, clock=lambda: datetime(2025, 4, 1, tzinfo=timezone.utc), jobs=1) as preview:
        assert preview.output is not None
        page = preview.output / "404.html"
        before = preview.generation
        (root / "templates").mkdir()
        (root / "templates" / "404.html").write_text("<p>Eigene Fehlerseite</p>\n", encoding="utf-8")
        assert preview.wait_for_build(before, timeout=20), "no rebuild after templates/ was created"
        assert wait_until(lambda: page.read_text(encoding="utf-8") == "<p>Eigene Fehlerseite</p>\n")
        before = preview.generation
        (root / "templates" / "404.html").write_text("<p>Geändert</p>\n", encoding="utf-8")  # now watched inside
        assert preview.wait_for_build(before, timeout=20), "no rebuild after a change inside the new templates/"
        assert wait_until(lambda: page.read_text(encoding="utf-8") == "<p>Geändert</p>\n")


def wait_until(condition, seconds: float = 20.0) -> bool:
    """Poll a condition (a rebuild may already be running when the file is saved); False after `seconds`."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if condition():
                return True
        time.sleep(0.05)
    return False
