"""The delivery ledger: `<site>/.pressekit/ledger.sqlite`, one row per (release, round, recipient).

Every state change is committed (WAL, synchronous=FULL) before the next SMTP step, so a run that
is killed leaves rows that say exactly how far it got:

    pending  -> sending (committed after the server's 354, before the message body goes out)
    sending  -> sent | deferred (4xx) | failed (5xx) | unknown (connection lost after the body)

A row still `sending` when a run starts belongs to a run that died with the body on the wire: the
server may have the message, so it becomes `unknown` and is not sent again unless asked to.
A round is one pass over the list; `send --resend` starts the next round.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import PressekitError

LEDGER_PATH = ".pressekit/ledger.sqlite"
STATES = ("pending", "sending", "sent", "deferred", "failed", "unknown")
OPEN_STATES = ("pending", "sending", "deferred")  # a round with rows in these is not finished

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    release    TEXT    NOT NULL,
    round      INTEGER NOT NULL,
    recipient  TEXT    NOT NULL,          -- the address key (case-folded)
    address    TEXT    NOT NULL,          -- as sent, domain in punycode
    name       TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL CHECK (state IN ('pending','sending','sent','deferred','failed','unknown')),
    message_id TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    reply      TEXT    NOT NULL DEFAULT '',  -- the last SMTP reply or connection problem
    created    TEXT    NOT NULL,
    updated    TEXT    NOT NULL,
    PRIMARY KEY (release, round, recipient)
);
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
            raise PressekitError(f"{self.path}: cannot write the ledger: {exc}") from exc


def ledger_path(root: Path) -> Path:
    """Return where the site's ledger lives."""
    return root / LEDGER_PATH


def open_ledger(root: Path) -> Ledger:
    """Open (creating if needed) the site's ledger for writing."""
    path = ledger_path(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")  # a committed `sending` must survive a power cut
        db.isolation_level = "DEFERRED"
        db.executescript(_SCHEMA)
        if "accepted" not in {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}:
            db.execute(_ACCEPTED)
    except (OSError, sqlite3.Error) as exc:
        raise PressekitError(f"{path}: cannot open the ledger: {exc}") from exc
    return Ledger(db, path)


def read_ledger(root: Path) -> Ledger | None:
    """Open the site's ledger read-only; None when there is none yet."""
    path = ledger_path(root)
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        db.execute("SELECT 1 FROM deliveries LIMIT 1")
    except sqlite3.Error as exc:
        raise PressekitError(f"{path}: cannot read the ledger: {exc}") from exc
    return Ledger(db, path)
