"""The delivery ledger: `<site>/.pressekit/ledger.sqlite`, one row per (release, round, recipient).

Every state change is committed (WAL, synchronous=FULL) before the next SMTP step, so a run that
is killed leaves rows that say exactly how far it got:

    pending  -> sending (committed after the server's 354, before the message body goes out)
    sending  -> sent | deferred (4xx) | failed (5xx) | unknown (connection lost after the body)

A row still `sending` when a run starts belongs to a run that died with the body on the wire: the
server may have the message, so it becomes `unknown` and is not sent again unless asked to.
A round is one pass over the list; `send --resend` starts the next round. A recipient whose address
joins the suppression list while a run is under way is recorded `suppressed` instead of being sent.

A ledger that exists but has lost its data (emptied, a table dropped, garbled) is refused: starting
anew would send the release to every editor again. A new ledger is only made where there was none,
complete or not at all (written beside, then renamed); `PRAGMA user_version` says it was initialised.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import PressekitError
from .paths import LEDGER

VERSION = 2  # PRAGMA user_version: 1 had no `suppressed` state; 0 is a ledger of before the version
STATES = ("pending", "sending", "sent", "deferred", "failed", "unknown", "suppressed")
OPEN_STATES = ("pending", "sending", "deferred")  # a round with rows in these is not finished

_SCHEMA = """
CREATE TABLE deliveries (
    release    TEXT    NOT NULL,
    round      INTEGER NOT NULL,
    recipient  TEXT    NOT NULL,          -- the address key (case-folded)
    address    TEXT    NOT NULL,          -- as sent, domain in punycode
    name       TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL CHECK (state IN ('pending','sending','sent','deferred','failed','unknown','suppressed')),
    message_id TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    reply      TEXT    NOT NULL DEFAULT '',  -- the last SMTP reply or connection problem
    created    TEXT    NOT NULL,
    updated    TEXT    NOT NULL,
    PRIMARY KEY (release, round, recipient)
);
"""
_ROUNDS = """
CREATE TABLE IF NOT EXISTS rounds (     -- the seed that shuffled a round's recipient order (equal treatment)
    release TEXT NOT NULL,
    round   INTEGER NOT NULL,
    seed    TEXT NOT NULL,
    PRIMARY KEY (release, round)
);
"""
# Added after the first release of the ledger: when the server accepted the message (250 after DATA).
_ACCEPTED = "ALTER TABLE deliveries ADD COLUMN accepted TEXT NOT NULL DEFAULT ''"


@dataclass(frozen=True)
class Delivery:
    """One ledger row."""

    release: str
    round: int
    recipient: str
    address: str
    name: str
    state: str
    message_id: str
    attempts: int
    reply: str
    created: str
    updated: str
    accepted: str = ""   # when the server accepted the message; kept when a bounce later marks it failed


@dataclass(frozen=True)
class NewDelivery:
    """What `Ledger.add_pending` needs for a recipient not yet in the round."""

    recipient: str
    address: str
    name: str
    message_id: str


class Ledger:
    """The SQLite ledger of one site; use `open_ledger` or `read_ledger`."""

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db, self.path = db, path

    def close(self) -> None:
        self.db.close()

    def latest_round(self, release: str) -> int:
        """Return the newest round of the release, 0 when nothing was ever recorded."""
        row = self.db.execute("SELECT MAX(round) FROM deliveries WHERE release = ?", (release,)).fetchone()
        return int(row[0] or 0)

    def deliveries(self, release: str, round: int | None = None) -> dict[str, Delivery]:
        """Return the rows of a round (default: the latest) by recipient key."""
        round = self.latest_round(release) if round is None else round
        cursor = self.db.execute("SELECT * FROM deliveries WHERE release = ? AND round = ? ORDER BY created, rowid",
                                 (release, round))
        return {row[2]: Delivery(*row) for row in cursor}

    def find_delivery(self, message_id: str, recipient: str) -> Delivery | None:
        """The row of a bounced message: by its Message-ID, else the recipient's latest row."""
        cursor = self.db.execute("SELECT * FROM deliveries WHERE message_id = ? AND recipient = ?",
                                 (message_id, recipient))
        row = cursor.fetchone() or self.db.execute(
            "SELECT * FROM deliveries WHERE recipient = ? AND state IN ('sent', 'unknown') "
            "ORDER BY updated DESC, rowid DESC LIMIT 1", (recipient,)).fetchone()
        return Delivery(*row) if row else None

    def recover_in_flight(self, release: str, when: datetime) -> int:
        """Turn rows left `sending` by a dead run into `unknown`; return how many."""
        with self._commit():
            cursor = self.db.execute(
                "UPDATE deliveries SET state = 'unknown', updated = ?, "
                "reply = 'interrupted after the message was handed to the server' "
                "WHERE release = ? AND state = 'sending'", (when.isoformat(), release))
        return cursor.rowcount

    def add_pending(self, release: str, round: int, new: Iterable[NewDelivery], when: datetime) -> None:
        """Record recipients as `pending` in one transaction (existing rows are kept as they are)."""
        stamp = when.isoformat()
        with self._commit():
            self.db.executemany(
                "INSERT OR IGNORE INTO deliveries (release, round, recipient, address, name, state, message_id, "
                "created, updated) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                [(release, round, d.recipient, d.address, d.name, d.message_id, stamp, stamp) for d in new])

    def mark(self, release: str, round: int, recipient: str, state: str, when: datetime, reply: str = "",
             attempt: bool = False) -> None:
        """Commit a state change of one row; `attempt` counts one more SMTP transaction."""
        if state not in STATES:
            raise ValueError(f"unknown ledger state {state!r}")
        accepted = when.isoformat() if state == "sent" else None
        with self._commit():
            cursor = self.db.execute(
                "UPDATE deliveries SET state = ?, reply = ?, updated = ?, attempts = attempts + ?, "
                "accepted = COALESCE(?, accepted) WHERE release = ? AND round = ? AND recipient = ?",
                (state, reply, when.isoformat(), int(attempt), accepted, release, round, recipient))
        if cursor.rowcount != 1:
            raise PressekitError(f"the ledger has no row for {recipient} in round {round} of {release}")

    def withdraw(self, release: str, round: int, recipient: str) -> None:
        """Drop a row not yet sent: the recipient left the list while the run went on."""
        with self._commit():
            self.db.execute("DELETE FROM deliveries WHERE release = ? AND round = ? AND recipient = ? "
                            "AND state IN ('pending', 'deferred')", (release, round, recipient))

    def round_seed(self, release: str, round: int, seed: str) -> str:
        """Record the seed of a round's shuffle once; return the recorded one (an earlier run's, if any)."""
        with self._commit():
            self.db.execute("INSERT OR IGNORE INTO rounds (release, round, seed) VALUES (?, ?, ?)", (release, round, seed))
        return self.recorded_seed(release, round) or seed

    def recorded_seed(self, release: str, round: int) -> str:
        """The seed recorded for the round, '' when none is (a ledger of an older pressekit)."""
        try:
            row = self.db.execute("SELECT seed FROM rounds WHERE release = ? AND round = ?", (release, round)).fetchone()
        except sqlite3.OperationalError:  # read-only ledger without the table
            return ""
        return str(row[0]) if row else ""

    def counts(self, release: str, round: int | None = None) -> Counter[str]:
        """Return how many rows of the round are in each state."""
        return Counter(d.state for d in self.deliveries(release, round).values())

    @contextmanager
    def _commit(self) -> Iterator[None]:
        try:
            with self.db:  # commits, or rolls back on an exception
                yield
        except sqlite3.Error as exc:
            raise PressekitError(f"cannot write {LEDGER}: {exc}") from exc


class LedgerDamaged(PressekitError):
    """The ledger exists but has lost its data: nothing is sent until it is restored or replaced."""


def ledger_path(root: Path) -> Path:
    """Return where the site's ledger lives."""
    return root / LEDGER


def open_ledger(root: Path) -> Ledger:
    """Open the site's ledger for writing, making it only where none exists; raise LedgerDamaged."""
    path = ledger_path(root)
    try:
        if not path.exists():
            _create(path)
        db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise PressekitError(f"{LEDGER}: cannot open the ledger: {exc}") from exc
    try:
        _check(db, path)
        db.execute("PRAGMA synchronous = FULL")  # a committed `sending` must survive a power cut
        _upgrade(db)
        _extend(db)
        db.isolation_level = "DEFERRED"
    except BaseException:
        db.close()
        raise
    return Ledger(db, path)


def read_ledger(root: Path) -> Ledger | None:
    """Open the site's ledger read-only; None when there is none yet; raise LedgerDamaged."""
    path = ledger_path(root)
    if not path.exists():
        return None
    try:
        # Not `mode=ro`: a read-only connection leaves the WAL's -shm and -wal files behind.
        db = sqlite3.connect(path, timeout=10.0)
        db.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise PressekitError(f"{LEDGER}: cannot read the ledger: {exc}") from exc
    try:
        _check(db, path)
    except BaseException:
        db.close()
        raise
    return Ledger(db, path)


def set_aside(root: Path, when: datetime) -> Path | None:
    """Move a damaged ledger (and its WAL files) to `ledger.sqlite.damaged-<time>`; never delete it.

    Return the new name, None when there was no ledger; raise PressekitError when the ledger is intact.
    """
    path = ledger_path(root)
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path, timeout=10.0)) as db:  # read-only would leave its -shm behind
        try:
            _check(db, path)
        except LedgerDamaged:
            pass
        else:
            raise PressekitError(f"{LEDGER}: the ledger is intact; --new-ledger only replaces a damaged one")
    aside = path.with_name(f"{path.name}.damaged-{when.strftime('%Y%m%dT%H%M%S')}")
    for n in range(1, 1000):
        if not aside.exists():
            break
        aside = aside.with_name(f"{path.name}.damaged-{when.strftime('%Y%m%dT%H%M%S')}-{n}")
    for suffix in ("-wal", "-shm"):  # a stale WAL beside a new ledger would be read into it
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    os.replace(path, aside)
    return aside


def damage(db: sqlite3.Connection, path: Path) -> str | None:
    """Return what is wrong with an existing ledger file, or None when it holds a ledger."""
    if path.stat().st_size == 0:
        return "the file is empty"
    try:
        check = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        return f"not an SQLite database: {exc}"
    if check != "ok":
        return f"quick_check: {check}"
    if "deliveries" not in tables:
        return "the table of deliveries is missing"
    if version > VERSION:
        return f"written by a newer pressekit (ledger version {version}, this one knows {VERSION})"
    return None


def _check(db: sqlite3.Connection, path: Path) -> None:
    if problem := damage(db, path):
        raise LedgerDamaged(f"{LEDGER}: the ledger is damaged ({problem}); "
                            "restore it from a backup or start anew with --new-ledger")


def _create(path: Path) -> None:
    """Write an initialised, empty ledger beside and rename it into place: it is there complete or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    temporary.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(temporary, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {VERSION}; COMMIT;")
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # a rename that never replaces another run's ledger
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _extend(db: sqlite3.Connection) -> None:
    """Add what later versions record beside the deliveries: the shuffle seeds and the acceptance times."""
    db.executescript(_ROUNDS)
    if "accepted" not in {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}:
        db.execute(_ACCEPTED)


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a ledger of an older pressekit to VERSION: the state check gains `suppressed`."""
    if int(db.execute("PRAGMA user_version").fetchone()[0]) == VERSION:
        return
    try:
        db.executescript("BEGIN IMMEDIATE; ALTER TABLE deliveries RENAME TO deliveries_old;" + _SCHEMA +
                         "INSERT INTO deliveries SELECT * FROM deliveries_old; DROP TABLE deliveries_old; "
                         f"PRAGMA user_version = {VERSION}; COMMIT;")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise PressekitError(f"{LEDGER}: cannot upgrade the ledger: {exc}") from exc


def forget_in_ledger(root: Path, address: str, replacement: str) -> int:
    """Replace an erased person's address by its keyed hash in every row (Art. 17 DSGVO); return how many.

    The rows stay, so the ledger still knows what was sent; the old text is overwritten on disk
    (secure_delete) and the WAL emptied.
    """
    path = ledger_path(root)
    if not path.exists():
        return 0
    ledger = open_ledger(root)
    try:
        ledger.db.execute("PRAGMA secure_delete = ON")
        with ledger._commit():
            cursor = ledger.db.execute(
                "UPDATE deliveries SET recipient = ?, address = ?, name = '', reply = replace(reply, address, ?) "
                "WHERE recipient = ?", (replacement, replacement, replacement, address.casefold()))
        ledger.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cursor.rowcount
    finally:
        ledger.close()
