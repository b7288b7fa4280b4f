"""`pressekit bounces FILE|DIR...`: delivery status notifications (RFC 3464) into the ledger and the suppressions.

Input: a Maildir (a folder with cur/ and new/), an mbox file, `.eml` files or folders of them, as
Postfix, Exchange and other servers write them. A notification is a `multipart/report;
report-type=delivery-status` message; every recipient block of its `message/delivery-status` part
says Action, Status and the recipient. Hard bounces (Status 5.x.x, Action failed) mark the ledger row
`failed` with the reason and add the address to the `[send] suppress` list; soft ones (4.x.x, delayed)
are counted and reported; anything that is not a notification is listed, never guessed at.
A hard-bounced address that is a subscriber (`.pressekit/subscribers.sqlite`) is set to `bounced`, the
reason and time in the subscriber's trail, so `send` leaves it out.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import mailbox
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .config import Config
from .errors import PressekitError, display_path
from .ledger import Ledger
from .recipients import address_key, load_suppressed, normalize_address


@dataclass(frozen=True)
class Bounce:
    """One recipient block of a notification."""

    source: str          # the file (and message number) it came from
    recipient: str
    status: str          # e.g. 5.1.1
    action: str          # failed, delayed ...
    diagnostic: str
    message_id: str      # of the bounced message, when the notification quotes it

    @property
    def hard(self) -> bool:
        return self.status.startswith("5") and self.action in ("failed", "")

    @property
    def reason(self) -> str:
        return f"bounce {self.status}: {self.diagnostic}" if self.diagnostic else f"bounce {self.status}"


@dataclass
class BounceReport:
    hard: list[tuple[Bounce, str]] = field(default_factory=list)   # (bounce, release id or "")
    soft: list[Bounce] = field(default_factory=list)
    unknown: list[tuple[str, str]] = field(default_factory=list)   # (source, subject)
    suppressed: list[str] = field(default_factory=list)
    bounced: list[str] = field(default_factory=list)               # subscribers set to bounced


def read_messages(paths: Iterable[Path], root: Path) -> Iterator[tuple[str, email.message.Message]]:
    """Every message of the given Maildirs, mbox files, .eml files and folders, with where it came from."""
    for path in paths:
        shown = display_path(path, root)
        if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
            for key, mail in sorted(mailbox.Maildir(path, factory=None, create=False).items()):
                yield f"{shown}/{key}", _parse(mail.as_bytes())
        elif path.is_dir():
            yield from read_messages(sorted(p for p in path.iterdir() if p.is_file() or p.is_dir()), root)
        elif _is_mbox(path):
            box = mailbox.mbox(path, create=False)
            try:
                for n, message in enumerate(box, 1):
                    yield f"{shown}#{n}", _parse(message.as_bytes())
            finally:
                box.close()
        else:
            try:
                yield shown, _parse(path.read_bytes())
            except OSError as exc:
                raise PressekitError(f"{shown}: cannot read: {exc.strerror}") from exc


def _is_mbox(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(5) == b"From "
    except OSError as exc:
        raise PressekitError(f"{path}: cannot read: {exc.strerror}") from exc


def _parse(data: bytes) -> email.message.Message:
    return email.message_from_bytes(data, policy=email.policy.compat32)


def parse_bounces(source: str, message: email.message.Message) -> list[Bounce] | None:
    """The recipient blocks of a delivery status notification; None when the message is not one."""
    if message.get_content_type() != "multipart/report" or \
            str(message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    status_part = next((p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return None
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        return None
    original = _original_message_id(message)
    out = []
    for block in blocks[1:]:  # the first block describes the whole notification
        if not isinstance(block, email.message.Message):
            continue
        recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        status = (re.search(r"[245]\.\d{1,3}\.\d{1,3}", block.get("Status", "")) or [""])[0]
        if recipient and status:
            diagnostic = " ".join(re.sub(r"^\s*[\w-]+\s*;\s*", "", block.get("Diagnostic-Code", "")).split())
            out.append(Bounce(source, recipient, status, block.get("Action", "").strip().lower(), diagnostic, original))
    return out or None


def _address(field_value: str) -> str:
    """`rfc822; someone@example.org` -> the address."""
    value = field_value.split(";", 1)[-1].strip().strip("<>")
    return value


def _original_message_id(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            headers = email.message_from_bytes(payload if isinstance(payload, bytes) else b"")
            return str(headers.get("Message-ID", "")).strip()
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
                return str(inner[0].get("Message-ID", "")).strip()
    return ""


def apply_bounces(config: Config, ledger: Ledger, messages: Iterable[tuple[str, email.message.Message]],
                  when: datetime, environ: Mapping[str, str] | None = None) -> BounceReport:
    """Sort the messages into hard, soft and unknown; mark hard bounces failed, suppress their addresses and
    set subscribers among them to bounced."""
    report = BounceReport()
    hard: list[Bounce] = []
    for source, message in messages:
        bounces = parse_bounces(source, message)
        if bounces is None:
            report.unknown.append((source, " ".join(str(message.get("Subject", "")).split())))
            continue
        report.soft += [b for b in bounces if not b.hard]
        hard += [b for b in bounces if b.hard]
    if hard and not config.send.suppress:
        raise PressekitError("hard bounces need a suppression list: set [send] suppress = \"abgemeldet.txt\" "
                             "in pressekit.toml; nothing was changed")
    for bounce in hard:
        row = ledger.find_delivery(bounce.message_id, address_key(bounce.recipient))
        if row:
            ledger.mark(row.release, row.round, row.recipient, "failed", when, bounce.reason)
        report.hard.append((bounce, row.release if row else ""))
    report.suppressed = suppress(config, [b.recipient for b in hard])
    report.bounced = bounce_subscribers(config, hard, when, environ)
    return report


def bounce_subscribers(config: Config, hard: list[Bounce], when: datetime,
                       environ: Mapping[str, str] | None) -> list[str]:
    """Set the subscribers among the hard-bounced addresses to bounced; return their addresses."""
    from .subscriptions.store import open_store, store_path
    from .unsubscribe import unsubscribe_secret

    if not hard or not store_path(config.root).exists():  # a site without subscribers gets no store
        return []
    store = open_store(config.root, unsubscribe_secret(config, os.environ if environ is None else environ))
    try:
        return [b.recipient for b in hard if store.bounce(b.recipient, b.reason, when)]
    finally:
        store.close()


def suppress(config: Config, addresses: list[str]) -> list[str]:
    """Append the addresses not yet in the [send] suppress list to it; return those added."""
    if not addresses or not config.send.suppress:
        return []
    path = config.root / config.send.suppress
    known, _ = load_suppressed(path, display_path(path, config.root)) if path.exists() else (set(), [])
    new: list[str] = []
    for address in addresses:
        try:
            normal = normalize_address(address)
        except ValueError:
            continue
        if address_key(normal) not in known:
            known.add(address_key(normal))
            new.append(normal)
    if new:
        text = path.read_text("utf-8") if path.exists() else ""
        prefix = "" if not text or text.endswith("\n") else "\n"
        with open(path, "a", encoding="utf-8") as f:
            f.write(prefix + "".join(f"{a}\n" for a in new))
    return new


def format_bounces(report: BounceReport) -> list[str]:
    """What `pressekit bounces` prints."""
    lines = [f"{len(report.hard)} hard bounce{'s' if len(report.hard) != 1 else ''} (marked failed, suppressed), "
             f"{len(report.soft)} soft, {len(report.unknown)} not a delivery report."]
    for bounce, release in report.hard:
        where = f" ({release})" if release else " (not in the ledger)"
        lines.append(f"  failed   {bounce.recipient}  {bounce.reason}{where}")
    for address in report.bounced:
        lines.append(f"  bounced  {address}  subscriber set to bounced; send leaves it out")
    for bounce in report.soft:
        lines.append(f"  soft     {bounce.recipient}  {bounce.reason} ({bounce.action or 'no action'}; not suppressed)")
    for source, subject in report.unknown:
        lines.append(f"  unknown  {source}: {subject or '(no subject)'}")
    return lines
