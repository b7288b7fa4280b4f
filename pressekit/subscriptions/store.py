"""The subscriber store: `.pressekit/subscribers.sqlite`, one row per address and its audit trail.

Every change is one `BEGIN IMMEDIATE` transaction (WAL, synchronous=FULL): a subscriber is written
whole or not at all, and concurrent requests for one address meet at the unique key on the
case-folded address. The trail (`events`) proves consent (Art. 7(1) DSGVO): sign-up with source,
consent version, IP and user agent; confirmation mails; confirmation with IP; topic changes; leaving.
IP addresses and user agents are erased after `[subscriptions] keep_ip_days`.

`forget` deletes a person with `secure_delete` on and truncates the WAL, so no clear text stays in
the file; a keyed hash of the address remains to stop a silent re-import.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..errors import PressekitError
from ..paths import SUBSCRIBERS
from .records import Event, Signup, SignupResult, Subscriber

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,         -- the address case-folded
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    medium        TEXT NOT NULL DEFAULT '',
    topics        TEXT NOT NULL DEFAULT '[]',   -- JSON list of tags; empty: everything
    state         TEXT NOT NULL CHECK (state IN ('pending','confirmed','unsubscribed','bounced')),
    source        TEXT NOT NULL,                -- form, import, office
    subscribed    TEXT NOT NULL,                -- the latest sign-up
    confirmed     TEXT,
    token_version INTEGER NOT NULL DEFAULT 1,
    confirm_nonce TEXT,                         -- the open confirmation request; NULL when none
    mail_owed     TEXT NOT NULL DEFAULT '',     -- kind of a confirmation mail due and not yet sent
    updated       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY,
    subscriber INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    time       TEXT NOT NULL,
    kind       TEXT NOT NULL,   -- signup, mail-due, mail-sent, mail-failed, confirmed, topics, unsubscribed, ...
    channel    TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX IF NOT EXISTS events_by_subscriber ON events (subscriber, time);
CREATE TABLE IF NOT EXISTS consents (version TEXT PRIMARY KEY, text TEXT NOT NULL, first_used TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forgotten (hash TEXT PRIMARY KEY, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS published (
    release  TEXT PRIMARY KEY,
    seen     TEXT NOT NULL,
    decision TEXT NOT NULL,     -- send, sent, or why it is not sent automatically
    done     TEXT
);
"""


class StoreError(PressekitError):
    """The store cannot be read or written (locked, disk full, damaged)."""


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")


class Store:
    """The subscriber store of one site; open it with `open_store`."""

    def __init__(self, db: sqlite3.Connection, path: Path, secret: bytes):
        self.db, self.path, self._secret = db, path, secret

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: committed whole, or rolled back and reported."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write the subscriber store: {exc}") from exc
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as exc:
            self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{self.path}: cannot write the subscriber store: {exc}") from exc
            raise

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read the subscriber store: {exc}") from exc

    # --- reading ------------------------------------------------------------------------------

    def get(self, subscriber: int) -> Subscriber | None:
        """The subscriber with this id, or None."""
        rows = self._read("SELECT * FROM subscribers WHERE id = ?", (subscriber,))
        return _subscriber(rows[0]) if rows else None

    def find(self, address: str) -> Subscriber | None:
        """The subscriber with this address (compared case-insensitively), or None."""
        rows = self._read("SELECT * FROM subscribers WHERE key = ?", (address.casefold(),))
        return _subscriber(rows[0]) if rows else None

    def all(self, state: str | None = None) -> list[Subscriber]:
        """Every subscriber (in one state), by address."""
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        return [_subscriber(r) for r in self._read(f"SELECT * FROM subscribers {where} ORDER BY key", args)]

    def events(self, subscriber: int) -> list[Event]:
        """The audit trail of one subscriber, oldest first."""
        rows = self._read("SELECT time, kind, channel, detail, ip, user_agent FROM events "
                          "WHERE subscriber = ? ORDER BY id", (subscriber,))
        return [Event(*r) for r in rows]  # type: ignore[arg-type]

    def consent_text(self, version: str) -> str | None:
        rows = self._read("SELECT text FROM consents WHERE version = ?", (version,))
        return str(rows[0][0]) if rows else None

    def owed_mails(self) -> list[Subscriber]:
        """Subscribers whose confirmation mail is due and not yet sent (the SMTP server was down)."""
        return [_subscriber(r) for r in self._read("SELECT * FROM subscribers WHERE mail_owed != '' ORDER BY id")]

    def is_forgotten(self, address: str) -> bool:
        return bool(self._read("SELECT 1 FROM forgotten WHERE hash = ?", (self.forget_hash(address),)))

    def forget_hash(self, address: str) -> str:
        """The keyed hash that stands for an erased address (in the store and the ledger)."""
        mac = hmac.new(self._secret, b"forgotten\0" + address.casefold().encode("utf-8"), hashlib.sha256)
        return "forgotten:" + mac.hexdigest()[:32]

    # --- changes ------------------------------------------------------------------------------

    def sign_up(self, signup: Signup, now: datetime, mails_per_day: int) -> SignupResult:
        """Create or refresh a subscriber from a form or import; a confirmed one stays confirmed.

        A confirmation mail is due unless `mails_per_day` were already due in the last 24 hours.
        """
        stamp = _stamp(now)
        with self._write() as db:
            self._remember_consent(db, signup, stamp)
            row = db.execute("SELECT * FROM subscribers WHERE key = ?", (signup.key,)).fetchone()
            old = _subscriber(row) if row else None
            since = _stamp(now - timedelta(days=1))
            if old and db.execute("SELECT COUNT(*) FROM events WHERE subscriber = ? AND kind = 'mail-due' "
                                  "AND time > ?", (old.id, since)).fetchone()[0] >= mails_per_day:
                return SignupResult(old, "")
            mail = "known" if old and old.state == "confirmed" else "confirm"
            topics = json.dumps(list(signup.topics), ensure_ascii=False)
            if old is None:
                cursor = db.execute(
                    "INSERT INTO subscribers (key, email, name, medium, topics, state, source, subscribed, "
                    "confirm_nonce, mail_owed, updated) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                    (signup.key, signup.email, signup.name, signup.medium, topics, signup.source, stamp,
                     secrets.token_urlsafe(12), mail, stamp))
                sid = int(cursor.lastrowid or 0)
            elif mail == "confirm":
                sid = old.id
                db.execute("UPDATE subscribers SET email = ?, name = ?, medium = ?, topics = ?, state = 'pending', "
                           "source = ?, subscribed = ?, confirmed = NULL, confirm_nonce = ?, mail_owed = ?, "
                           "updated = ? WHERE id = ?",
                           (signup.email, signup.name, signup.medium, topics, signup.source, stamp,
                            secrets.token_urlsafe(12), mail, stamp, sid))
            else:
                sid = old.id
                db.execute("UPDATE subscribers SET mail_owed = ?, updated = ? WHERE id = ?", (mail, stamp, sid))
            if mail == "confirm":
                self._event(db, sid, stamp, "signup", signup.source, _signup_detail(signup), signup)
            self._event(db, sid, stamp, "mail-due", mail, "", signup)
            return SignupResult(self._get(db, sid), mail)

    def add_confirmed(self, signup: Signup, now: datetime) -> Subscriber:
        """Import a subscriber as confirmed on the office's evidence (`import --confirmed-by`)."""
        stamp = _stamp(now)
        with self._write() as db:
            self._remember_consent(db, signup, stamp)
            topics = json.dumps(list(signup.topics), ensure_ascii=False)
            cursor = db.execute(
                "INSERT INTO subscribers (key, email, name, medium, topics, state, source, subscribed, confirmed, "
                "updated) VALUES (?, ?, ?, ?, ?, 'confirmed', ?, ?, ?, ?)",
                (signup.key, signup.email, signup.name, signup.medium, topics, signup.source, stamp, stamp, stamp))
            sid = int(cursor.lastrowid or 0)
            self._event(db, sid, stamp, "signup", signup.source, _signup_detail(signup), signup)
            self._event(db, sid, stamp, "confirmed", "office", f"evidence: {signup.evidence}", signup)
            return self._get(db, sid)

    def mail_sent(self, subscriber: int, now: datetime, ok: bool, reply: str) -> None:
        """Record the outcome of a confirmation mail; a failed one stays owed and is tried again."""
        with self._write() as db:
            if ok:
                db.execute("UPDATE subscribers SET mail_owed = '' WHERE id = ?", (subscriber,))
            self._event(db, subscriber, _stamp(now), "mail-sent" if ok else "mail-failed", "smtp", reply)

    def confirm(self, claim_subscriber: int, nonce: str, now: datetime, ip: str | None, agent: str | None) -> str:
        """Confirm an open request: 'confirmed', 'already' (harmless repeat) or 'invalid' (reused, replaced)."""
        stamp = _stamp(now)
        with self._write() as db:
            row = db.execute("SELECT * FROM subscribers WHERE id = ?", (claim_subscriber,)).fetchone()
            if row is None:
                return "invalid"
            sub = _subscriber(row)
            if sub.state == "confirmed" and sub.confirm_nonce is None:
                return "already"
            if sub.state != "pending" or sub.confirm_nonce is None or not hmac.compare_digest(sub.confirm_nonce, nonce):
                return "invalid"
            db.execute("UPDATE subscribers SET state = 'confirmed', confirmed = ?, confirm_nonce = NULL, "
                       "mail_owed = '', updated = ? WHERE id = ?", (stamp, stamp, sub.id))
            db.execute("INSERT INTO events (subscriber, time, kind, channel, ip, user_agent) "
                       "VALUES (?, ?, 'confirmed', 'link', ?, ?)", (sub.id, stamp, ip, agent))
            return "confirmed"

    def set_topics(self, subscriber: int, topics: tuple[str, ...], now: datetime, ip: str | None) -> None:
        """Change the topics of a subscriber, with the change in the trail."""
        stamp = _stamp(now)
        with self._write() as db:
            old = self._get(db, subscriber)
            new = json.dumps(list(topics), ensure_ascii=False)
            db.execute("UPDATE subscribers SET topics = ?, updated = ? WHERE id = ?", (new, stamp, subscriber))
            detail = f"{', '.join(old.topics) or 'alle'} -> {', '.join(topics) or 'alle'}"
            db.execute("INSERT INTO events (subscriber, time, kind, channel, detail, ip) "
                       "VALUES (?, ?, 'topics', 'einstellungen', ?, ?)", (subscriber, stamp, detail, ip))

    def unsubscribe(self, subscriber: int, channel: str, now: datetime, ip: str | None = None) -> bool:
        """Set the state to unsubscribed at once; False when it already was (nothing changes)."""
        stamp = _stamp(now)
        with self._write() as db:
            old = self._get(db, subscriber)
            if old.state == "unsubscribed":
                return False
            db.execute("UPDATE subscribers SET state = 'unsubscribed', confirm_nonce = NULL, mail_owed = '', "
                       "updated = ? WHERE id = ?", (stamp, subscriber))
            db.execute("INSERT INTO events (subscriber, time, kind, channel, ip) VALUES (?, ?, 'unsubscribed', ?, ?)",
                       (subscriber, stamp, channel, ip))
            return True

    def bounce(self, address: str, reason: str, now: datetime) -> bool:
        """Set a pending or confirmed subscriber to bounced, the reason in the trail; False when there is none."""
        stamp = _stamp(now)
        with self._write() as db:
            row = db.execute("SELECT id FROM subscribers WHERE key = ? AND state IN ('pending', 'confirmed')",
                             (address.casefold(),)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE subscribers SET state = 'bounced', confirm_nonce = NULL, mail_owed = '', "
                       "updated = ? WHERE id = ?", (stamp, row[0]))
            db.execute("INSERT INTO events (subscriber, time, kind, channel, detail) "
                       "VALUES (?, ?, 'bounced', 'bounces', ?)", (row[0], stamp, reason))
            return True

    def forget(self, address: str, now: datetime) -> bool:
        """Erase a person and keep only the keyed hash of the address; False when unknown here."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO forgotten (hash, time) VALUES (?, ?)",
                       (self.forget_hash(address), _stamp(now)[:10]))
            cursor = db.execute("DELETE FROM subscribers WHERE key = ?", (address.casefold(),))
            gone = cursor.rowcount > 0
        self.scrub()
        return gone

    def scrub(self) -> None:
        """Move everything into the main file and empty the WAL, so deleted text is nowhere on disk."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write the subscriber store: {exc}") from exc

    def erase_old_ips(self, now: datetime, keep_days: int) -> None:
        """Erase IP addresses and user agents older than `keep_days`, and rate-limit hits older than a day."""
        with self._write() as db:
            db.execute("UPDATE events SET ip = NULL, user_agent = NULL WHERE time < ? AND "
                       "(ip IS NOT NULL OR user_agent IS NOT NULL)", (_stamp(now - timedelta(days=keep_days)),))
            db.execute("DELETE FROM hits WHERE time < ?", (_stamp(now - timedelta(days=1)),))

    def hit(self, bucket: str, now: datetime, window: timedelta, limit: int) -> bool:
        """Count one request in `bucket`; False when `limit` requests were already made within `window`."""
        hashed = hmac.new(self._secret, b"hit\0" + bucket.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
        with self._write() as db:
            count = db.execute("SELECT COUNT(*) FROM hits WHERE bucket = ? AND time > ?",
                               (hashed, _stamp(now - window))).fetchone()[0]
            if count >= limit:
                return False
            db.execute("INSERT INTO hits (bucket, time) VALUES (?, ?)", (hashed, _stamp(now)))
            return True

    # --- publishing ---------------------------------------------------------------------------

    def published(self) -> dict[str, tuple[str, str | None]]:
        """What `publish` recorded: release id -> (decision, done)."""
        return {str(r[0]): (str(r[1]), r[2] if r[2] is None else str(r[2]))
                for r in self._read("SELECT release, decision, done FROM published")}

    def record_published(self, decisions: dict[str, str], now: datetime) -> None:
        """Record newly public releases with what `publish` decided for each, in one transaction."""
        with self._write() as db:
            db.executemany("INSERT OR IGNORE INTO published (release, seen, decision) VALUES (?, ?, ?)",
                           [(rid, _stamp(now), decision) for rid, decision in decisions.items()])

    def publish_done(self, release: str, now: datetime) -> None:
        with self._write() as db:
            db.execute("UPDATE published SET decision = 'sent', done = ? WHERE release = ?", (_stamp(now), release))

    # --- helpers ------------------------------------------------------------------------------

    def _get(self, db: sqlite3.Connection, subscriber: int) -> Subscriber:
        row = db.execute("SELECT * FROM subscribers WHERE id = ?", (subscriber,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: subscriber {subscriber} vanished during a change")
        return _subscriber(row)

    @staticmethod
    def _remember_consent(db: sqlite3.Connection, signup: Signup, stamp: str) -> None:
        db.execute("INSERT OR IGNORE INTO consents (version, text, first_used) VALUES (?, ?, ?)",
                   (signup.consent_version, signup.consent_text, stamp))

    @staticmethod
    def _event(db: sqlite3.Connection, subscriber: int, stamp: str, kind: str, channel: str, detail: str,
               signup: Signup | None = None) -> None:
        db.execute("INSERT INTO events (subscriber, time, kind, channel, detail, ip, user_agent) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (subscriber, stamp, kind, channel, detail, signup.ip if signup else None,
                    signup.user_agent if signup else None))


def _signup_detail(signup: Signup) -> str:
    topics = ", ".join(signup.topics) or "alle"
    return f"consent {signup.consent_version}; topics: {topics}"


def _subscriber(row: tuple[object, ...]) -> Subscriber:
    values = list(row)
    values[5] = tuple(json.loads(str(values[5])))
    return Subscriber(*values)  # type: ignore[arg-type]


def store_path(root: Path) -> Path:
    return root / SUBSCRIBERS


def open_store(root: Path, secret: bytes) -> Store:
    """Open (creating if needed) the site's subscriber store; raise StoreError."""
    path = store_path(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA secure_delete = ON")   # deleted rows are overwritten, not left in free pages
        db.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"{path}: cannot open the subscriber store: {exc}") from exc
    return Store(db, path, secret)
