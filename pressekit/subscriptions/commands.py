"""The office's `pressekit subscribers` commands: list, import, export, show, forget, unsubscribe.

Every command checks its whole input before it changes anything; problems are `file:line: ...`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import BuildFailed, PressekitError, SourceError
from ..ledger import forget_in_ledger, read_ledger
from ..paths import OUTBOX
from ..recipients import check_name, normalize_address
from ..text import decode_utf8
from .forms import check_address
from .mailer import send_confirmation
from .site import ServiceSite
from .records import STATES, Signup, Subscriber
from .store import Store

COLUMNS = ("email", "name", "medium", "state", "topics", "subscribed", "confirmed")
IMPORT_COLUMNS = ("email", "name", "medium", "topics")


# --- list, export -------------------------------------------------------------------------------

def subscriber_rows(subscribers: list[Subscriber]) -> list[dict[str, str]]:
    """The csv/json columns of each subscriber."""
    return [{"email": s.email, "name": s.name, "medium": s.medium, "state": s.state, "topics": "; ".join(s.topics),
             "subscribed": s.subscribed, "confirmed": s.confirmed or ""} for s in subscribers]


def format_subscribers(subscribers: list[Subscriber], fmt: str) -> str:
    """The list as a table for people, or as csv or json for programs."""
    rows = subscriber_rows(subscribers)
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if not rows:
        return "No subscribers.\n"
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in ("email", "state", "topics", "subscribed")}
    lines = ["  ".join(c.ljust(widths[c]) for c in widths)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in widths) for r in rows]
    return "\n".join(line.rstrip() for line in lines) + f"\n{len(rows)} subscriber{'s' if len(rows) != 1 else ''}.\n"


def check_state(state: str | None) -> None:
    if state is not None and state not in STATES:
        raise PressekitError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")


# --- import -------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    """What an import did."""

    added: int = 0
    confirmed: int = 0
    mails_sent: int = 0
    mails_owed: int = 0
    warnings: list[SourceError] = field(default_factory=list)


def read_import(site: ServiceSite, store: Store, path: Path, shown: str) -> tuple[list[tuple[int, Signup]], list[SourceError]]:
    """Validate the whole file; return the new subscribers by line and every problem (warnings included)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [SourceError(shown, 1, f"cannot read the file: {exc.strerror or exc}")]
    text, errors = decode_utf8(raw, shown, "save the list as CSV UTF-8")
    if text is None:
        return [], errors
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if first.count(";") > first.count(",") else ",")
    problems: list[SourceError] = []
    found: list[tuple[int, Signup]] = []
    seen: dict[str, int] = {}
    header: list[str] | None = None
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = [f.strip().lower() for f in fields]
                if "email" not in header or any(h not in IMPORT_COLUMNS for h in header):
                    return [], [SourceError(shown, line, f"the header must name the columns {', '.join(IMPORT_COLUMNS)} "
                                            "(email required, the rest optional)", "e.g. email,name,medium,topics")]
                continue
            row = dict(zip(header, (f.strip() for f in fields)))
            signup = _import_row(site, store, row, shown, line, problems)
            if signup and signup.key in seen:
                problems.append(SourceError(shown, line, f"{signup.email} is already on line {seen[signup.key]}; "
                                            "this line is left out", warning=True))
            elif signup:
                seen[signup.key] = line
                found.append((line, signup))
    except csv.Error as exc:
        problems.append(SourceError(shown, reader.line_num, f"not valid CSV: {exc}"))
    if header is None and not problems:
        problems.append(SourceError(shown, 1, "the file is empty", f"the first line names the columns: "
                                    f"{','.join(IMPORT_COLUMNS)}"))
    return found, problems


def _import_row(site: ServiceSite, store: Store, row: dict[str, str], shown: str, line: int,
                problems: list[SourceError]) -> Signup | None:
    raw = row.get("email", "")
    address, wrong = check_address(raw)
    if address is None:
        problems.append(SourceError(shown, line, f"email {raw!r} is not a valid address",
                                    "one plain address per line, like redaktion@zeitung.de"))
    ok = address is not None
    for column in ("name", "medium"):
        if problem := check_name(row.get(column, "")):
            problems.append(SourceError(shown, line, f"{column} {row.get(column, '')!r} {problem}"))
            ok = False
    wanted = [t.strip() for t in re.split(r"[;,]", row.get("topics", "")) if t.strip()]
    topics = tuple(site.topic(t) or "" for t in wanted)
    for name, topic in zip(wanted, topics):
        if not topic:
            problems.append(SourceError(shown, line, f"unknown topic {name!r}",
                                        f"topics are the site's tags: {', '.join(site.topics) or '(none yet)'}"))
            ok = False
    if not ok or address is None:
        return None
    if store.is_forgotten(address):
        problems.append(SourceError(shown, line, f"{address} was erased on request (pressekit subscribers forget); "
                                    "it is not imported again", "the person can subscribe again on the form"))
        return None
    if old := store.find(address):
        problems.append(SourceError(shown, line, f"{address} is already a subscriber ({old.state}); left as it is",
                                    warning=True))
        return None
    return Signup(address, row.get("name", ""), row.get("medium", ""), tuple(dict.fromkeys(topics)), "import")


def import_subscribers(site: ServiceSite, store: Store, path: Path, shown: str, confirmed_by: str | None,
                       now: datetime) -> ImportReport:
    """Import a list: pending with a confirmation mail each, or confirmed on the office's evidence."""
    found, problems = read_import(site, store, path, shown)
    if any(not p.warning for p in problems):
        raise BuildFailed(problems)
    report = ImportReport(warnings=problems)
    for line, signup in found:
        if confirmed_by:
            evidence = f"{shown}:{line}: {confirmed_by}"
            store.add_confirmed(Signup(signup.email, signup.name, signup.medium, signup.topics, "import",
                                       f"Übernommen von der Pressestelle: {confirmed_by}", evidence=evidence), now)
            report.confirmed += 1
            continue
        pending = Signup(signup.email, signup.name, signup.medium, signup.topics, "import", site.consent_text())
        result = store.sign_up(pending, now, site.config.subscriptions.mails_per_day)
        report.added += 1
        if send_confirmation(site, store, result.subscriber, result.mail, now):
            report.mails_sent += 1
        else:
            report.mails_owed += 1
    return report


# --- one person ---------------------------------------------------------------------------------

def find_subscriber(store: Store, address: str) -> Subscriber:
    """The subscriber with this address; raise PressekitError naming it otherwise."""
    subscriber = store.find(address.strip())
    if subscriber is None:
        raise PressekitError(f"no subscriber with the address {address.strip()!r}")
    return subscriber


def show_subscriber(site: ServiceSite, store: Store, address: str) -> str:
    """Everything stored about one person (Art. 15 DSGVO): the row, the trail, consent texts, deliveries."""
    s = find_subscriber(store, address)
    out = [f"E-Mail:       {s.email}", f"Name:         {s.name}", f"Redaktion:    {s.medium}",
           f"Status:       {s.state}", f"Themen:       {', '.join(s.topics) or 'alle'}",
           f"Quelle:       {s.source}", f"Angemeldet:   {s.subscribed}", f"Bestätigt:    {s.confirmed or '-'}",
           "", "Verlauf:"]
    versions: list[str] = []
    for e in store.events(s.id):
        who = " ".join(p for p in (f"IP {e.ip}" if e.ip else "", f"({e.user_agent})" if e.user_agent else "") if p)
        out.append("  " + "  ".join(p for p in (e.time, e.kind, e.channel, e.detail, who) if p))
        versions += re.findall(r"consent ([0-9a-f]{16})", e.detail)
    for version in dict.fromkeys(versions):
        out += ["", f"Einwilligungstext {version}:", f"  {store.consent_text(version) or '(nicht gespeichert)'}"]
    ledger = read_ledger(site.config.root)
    if ledger is not None:
        try:
            rows = ledger.db.execute("SELECT release, round, state, updated FROM deliveries WHERE recipient = ? "
                                     "ORDER BY created", (s.key,)).fetchall()
        finally:
            ledger.close()
        if rows:
            out += ["", "Zugestellte Meldungen:"] + [f"  {r[3]}  {r[0]} (Runde {r[1]}): {r[2]}" for r in rows]
    return "\n".join(out) + "\n"


def forget_subscriber(site: ServiceSite, store: Store, address: str, now: datetime) -> list[str]:
    """Erase a person from the store, the outbox and the ledger's clear text; return what was done."""
    try:
        normalized = normalize_address(address.strip())
    except ValueError as exc:
        raise PressekitError(f"{address.strip()!r} {exc}") from None
    subscriber = store.find(normalized)
    hashed = store.forget_hash(normalized)
    done = []
    if store.forget(normalized, now):
        done.append("erased from the subscriber store")
    rows = forget_in_ledger(site.config.root, subscriber.email if subscriber else normalized, hashed)
    if rows:
        done.append(f"replaced by a keyed hash in {rows} ledger row{'s' if rows != 1 else ''}")
    removed = _forget_in_outbox(site.config.root, normalized)
    if removed:
        done.append(f"{removed} message{'s' if removed != 1 else ''} removed from the outbox")
    return done


def _forget_in_outbox(root: Path, address: str) -> int:
    needle = address.casefold().encode("utf-8")
    removed = 0
    for path in sorted((root / OUTBOX).glob("*/*.eml")):
        if needle in path.name.casefold().encode("utf-8") or needle in path.read_bytes().lower():
            path.unlink()
            removed += 1
    return removed


def unsubscribe_subscriber(store: Store, address: str, now: datetime) -> bool:
    """Unsubscribe on the office's word; False when the person already was."""
    return store.unsubscribe(find_subscriber(store, address).id, "office", now)
