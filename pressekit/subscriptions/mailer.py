"""The double-opt-in mail: plain text, no release content, over the site's SMTP settings and header guard.

`confirm` asks a new (or returning) subscriber to confirm; `known` tells a confirmed subscriber who
signed up again where their settings are (the form's answer is the same either way). A mail that
cannot be sent stays owed in the store and is tried again (`send_owed_mails`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from ..errors import PressekitError
from ..mail import address_field, check_headers, parse_address, sender_of, unstructured_field
from ..send import SmtpSession, envelope_sender, smtp_password
from .site import ServiceSite
from .records import Subscriber
from .store import Store

TEMPLATES = {"confirm": "abo/bestaetigung.txt", "known": "abo/bekannt.txt"}
SUBJECTS = {"confirm": "Bitte bestätigen: Pressemitteilungen per E-Mail", "known": "Ihr Abonnement der Pressemitteilungen"}


@dataclass(frozen=True)
class MailResult:
    """Whether the server took the mail, and its reply or the problem."""

    ok: bool
    reply: str


def confirmation_text(site: ServiceSite, subscriber: Subscriber, kind: str, now: datetime) -> str:
    """The body of the mail of `kind` for a subscriber."""
    template = site.env.get_template(TEMPLATES[kind])
    return template.render(
        subscriber=subscriber, confirm_hours=site.config.subscriptions.confirm_hours,
        confirm_url=site.confirm_url(subscriber.id, subscriber.confirm_nonce or "", now) if kind == "confirm" else "",
        settings_url=site.manage_url("einstellungen", subscriber.id, subscriber.token_version),
        unsubscribe_url=site.manage_url("abmelden", subscriber.id, subscriber.token_version),
        form_url=f"{site.url}abonnieren")


def build_confirmation(site: ServiceSite, subscriber: Subscriber, kind: str, now: datetime) -> bytes:
    """The complete message; raise headers.HeaderError when a header would break."""
    config = site.config
    text = confirmation_text(site, subscriber, kind, now)
    digest = hashlib.sha256(f"{subscriber.key}\0{now.isoformat()}\0{kind}".encode()).hexdigest()[:20]
    mid = f"<abo.{digest}@{config.site.domain}>"
    when = format_datetime(now.astimezone(config.site.tz))
    fields = [address_field("From", *sender_of(config)),
              address_field("To", *parse_address(subscriber.email, "the subscriber")),
              unstructured_field("Subject", SUBJECTS[kind]),
              ("Date", when, when), ("Message-ID", mid, mid),
              ("Auto-Submitted", "auto-generated", "auto-generated"),
              ("MIME-Version", "1.0", "1.0"),
              ("Content-Type", 'text/plain; charset="utf-8"', 'text/plain; charset="utf-8"'),
              ("Content-Transfer-Encoding", "base64", "base64")]
    head = "".join(f"{name}: {raw}\r\n".replace("\r\n", "\n").replace("\n", "\r\n") for name, raw, _ in fields)
    body = base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")
    data = head.encode("ascii") + b"\r\n" + body
    check_headers(data, {name: expected for name, _, expected in fields})
    return data


def deliver(site: ServiceSite, address: str, message: bytes, environ: Mapping[str, str] | None = None) -> MailResult:
    """Send one message over the site's SMTP settings; never raises for a server that is down."""
    config = site.config
    try:
        session = SmtpSession(config.smtp, smtp_password(config.smtp, os.environ if environ is None else environ))
        sender = envelope_sender(config)
        with contextlib.closing(session):
            session.connect()
            outcome = session.deliver(sender, address, message, lambda: None)
    except (smtplib.SMTPException, OSError, PressekitError) as exc:
        return MailResult(False, f"cannot send: {exc}")
    return MailResult(outcome.state == "sent", outcome.reply)


def send_confirmation(site: ServiceSite, store: Store, subscriber: Subscriber, kind: str, now: datetime) -> bool:
    """Build and send the mail of `kind`, recording the outcome; True when the server took it."""
    try:
        message = build_confirmation(site, subscriber, kind, now)
    except PressekitError as exc:
        store.mail_sent(subscriber.id, now, False, f"not built: {exc}")
        return False
    result = deliver(site, subscriber.email, message)
    store.mail_sent(subscriber.id, now, result.ok, result.reply)
    return result.ok


def send_owed_mails(site: ServiceSite, store: Store, now: datetime) -> int:
    """Try again every confirmation mail that is still owed; return how many went out."""
    sent = 0
    for subscriber in store.owed_mails():
        if subscriber.mail_owed in TEMPLATES and send_confirmation(site, store, subscriber, subscriber.mail_owed, now):
            sent += 1
    return sent
