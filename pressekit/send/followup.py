"""`pressekit send <id> --correction | --withdrawal | --takedown FILE`: tell exactly those who got a release.

The recipients come from the ledger, not from a list: every address whose row for the release (in any
round) is `sent` or `unknown` -- the server may have it. Each follow-up is a ledger "release" of its
own (`<id>.korrektur-<time>`, `<id>.rueckruf`, `<id>.loeschung-<photo>`), so it is sent with the same
machinery as the release itself: every state committed before the next SMTP step, a killed run sends
what is missing and nothing twice. Each message answers the recipient's original message
(`In-Reply-To`/`References`), so mail clients thread it under the release.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from .. import dates
from ..config import Config
from ..dates import lift_time
from ..dkim import Signer, load_signer
from ..errors import BuildFailed, SourceError, display_path
from ..ledger import Ledger, read_ledger
from ..model import Photo, Release
from ..progress import Report as Progress
from ..recipients import Recipient
from ..text import slugify
from ..unsubscribe import unsubscribe_secret
from .command import (
    deliver, dry_run, find_release, load_site_config, send_rate, suppression_list,
)
from .composer import Composer, check_addressable
from .delivery import Clock, RetryPolicy
from .options import Selection, SendOptions, SendReport, SystemClock

KINDS = ("correction", "withdrawal", "takedown")
RECEIVED = ("sent", "unknown")


@dataclass(frozen=True)
class FollowUp:
    """One message about a release that went out: what it says and under which ledger key it is sent."""

    kind: str          # "correction", "withdrawal" or "takedown"
    key: str           # the ledger's release column for these messages
    subject: str
    text: str
    html: str
    date: datetime     # the message's Date: the time of the correction, withdrawal or expiry


@dataclass(frozen=True)
class Original:
    """A recipient of the release, with the Message-ID of what they received."""

    recipient: Recipient
    message_id: str


def send_followup(root: Path, release_id: str, kind: str, now: datetime, options: SendOptions = SendOptions(),
                  photo_file: str = "", *, clock: Clock | None = None, retry: RetryPolicy = RetryPolicy(),
                  progress: Progress | None = None, environ: Mapping[str, str] | None = None) -> SendReport:
    """Send (or with dry_run write) the follow-up to everyone the ledger shows received the release;
    raise BuildFailed (nothing sent) when there is nothing to send or no one to send it to."""
    clock = clock or SystemClock()
    environ = os.environ if environ is None else environ
    config = load_site_config(root)
    release = find_release(config, release_id)
    followup = make_followup(config, release, kind, photo_file, now)
    originals = received_by(config.root, release)
    if not originals:
        verb = {"correction": "correct", "withdrawal": "withdraw", "takedown": "take down"}[kind]
        raise BuildFailed([SourceError(display_path(release.source, config.root), _line(release, kind, photo_file),
                                       f"nothing to {verb}: the ledger has no recipients of {release.id}",
                                       "only editors who received the release are told; send it first")])
    suppressions = suppression_list(config)
    problems = suppressions.load()
    if any(not p.warning for p in problems):
        raise BuildFailed(problems)
    recipients = [o.recipient for o in originals if o.recipient.key not in suppressions.keys]
    selection = Selection(followup.key, tuple(recipients), suppressed=len(originals) - len(recipients),
                          warnings=tuple(problems))
    secret = unsubscribe_secret(config, environ) if config.send.unsubscribe_url else b""
    signer, problems = load_signer(config, environ)
    if problems:
        raise BuildFailed(problems)
    composer = FollowUpComposer(config, release, secret, followup, {o.recipient.key: o.message_id for o in originals},
                                signer)
    keyed = composer.release
    if options.dry_run:
        check_addressable(composer, recipients, "the ledger")
        return dry_run(config, keyed, selection, composer, options, now)  # --now dates a dry run
    # a follow-up goes once (a new correction is a new key), through the same guarded run as a release
    return deliver(config, keyed, selection, composer, replace(options, resend=False), "the ledger",
                   send_rate(config, options), clock, retry, progress, environ, suppressions)


def received_by(root: Path, release: Release) -> list[Original]:
    """Everyone the ledger shows received the release (`sent` or `unknown`, any round), in the order sent."""
    ledger = read_ledger(root)
    if ledger is None:
        return []
    try:
        return _originals(ledger, release.id)
    finally:
        ledger.close()


def _originals(ledger: Ledger, release_id: str) -> list[Original]:
    found: dict[str, Original] = {}
    for round in range(1, ledger.latest_round(release_id) + 1):
        for key, row in ledger.deliveries(release_id, round).items():
            if row.state in RECEIVED:  # a later round's message is the one to answer
                found.pop(key, None)
                found[key] = Original(Recipient(row.address, row.name), row.message_id)
    return list(found.values())


def _line(release: Release, kind: str, photo_file: str) -> int:
    if kind == "correction" and release.corrections:
        return release.corrections[-1].line
    if kind == "withdrawal" and release.withdrawn:
        return release.withdrawn.line
    photo = next((p for p in release.photos if p.file == photo_file), None)
    return photo.line if photo else 1


# --- what the messages say ----------------------------------------------------------------------

def make_followup(config: Config, release: Release, kind: str, photo_file: str, now: datetime) -> FollowUp:
    """The follow-up message of `kind`; raise BuildFailed when the front matter does not say what to send."""
    shown = display_path(release.source, config.root)
    tz = config.site.tz
    day = dates.day(release.date, tz)
    if kind == "correction":
        if not release.corrections:
            raise BuildFailed([SourceError(shown, 1, "nothing to correct: the release has no corrections",
                                           "add corrections: [{date, text}] to the front matter")])
        latest = release.corrections[-1]
        note = f"Korrektur vom {lift_time(latest.date, tz)}: {latest.text}"
        return _correction(config, release.at(max(now, latest.date)), note, latest.date)
    if kind == "withdrawal":
        if release.withdrawn is None:
            raise BuildFailed([SourceError(shown, 1, "nothing to withdraw: the release has no 'withdrawn:'",
                                           "add withdrawn: {date, reason} to the front matter")])
        lines = [f"Bitte verwenden Sie die Meldung „{release.title}“ vom {day} nicht mehr.",
                 f"Sie wurde am {lift_time(release.withdrawn.date, tz)} zurückgezogen: {release.withdrawn.reason}"]
        if release.photos:
            lines.append("Bitte löschen Sie die Fotos der Meldung:")
            lines += [_photo_line(config, p) for p in release.photos]
        return _plain(config, release, "withdrawal", f"{release.id}.rueckruf",
                      f"ZURÜCKGEZOGEN: {release.title}", lines, release.withdrawn.date)
    photo = next((p for p in release.photos if p.file == photo_file), None)
    if photo is None:
        known = ", ".join(p.file for p in release.photos) or "none"
        line = release.photos[0].line if release.photos else 1
        raise BuildFailed([SourceError(shown, line, f"--takedown: '{photo_file}' is not a photo of {release.id}",
                                       f"its photos: {known}")])
    lines = [f"Bitte löschen Sie das folgende Foto der Meldung „{release.title}“ vom {day} "
             "und verwenden Sie es nicht mehr:", _photo_line(config, photo)]
    if photo.expires is not None:
        lines.append(f"Die Nutzungsrechte oder die Einwilligung enden am {lift_time(photo.expires, tz)}.")
    return _plain(config, release, "takedown", f"{release.id}.loeschung-{slugify(photo.stem)}",
                  f"LÖSCHBITTE FOTO: {release.title}", lines, photo.expires or now)


def _photo_line(config: Config, photo: Photo) -> str:
    """A photo as editors stored it: its variant files and its credit."""
    files = ", ".join(f"{photo.stem}-{v.name}.jpg" for v in config.variants)
    return f"{photo.file} ({files}), Foto: {photo.credit}"


def _contact_line(release: Release) -> list[str]:
    c = release.contact
    parts = [p for p in (c.label, c.name, f"Telefon {c.phone}" if c.phone else "", c.email) if p] if c else []
    return [f"Pressekontakt: {', '.join(parts)}"] if parts else []


def _plain(config: Config, release: Release, kind: str, key: str, subject: str, lines: list[str],
           date: datetime) -> FollowUp:
    lines = lines + [f"Meldung: {config.release_url(release.id)}"] + _contact_line(release)
    body = "".join(f"<p>{html.escape(line)}</p>\n" for line in lines)
    page = f'<!DOCTYPE html>\n<html lang="{config.site.language}">\n<body>\n{body}</body>\n</html>\n'
    return FollowUp(kind, key, subject, "\n".join(lines), page, date)


def _correction(config: Config, release: Release, note: str, date: datetime) -> FollowUp:
    """The note first, then the corrected release as its e-mail renders it."""
    from .. import mail
    from ..markup import render_html

    parts = mail.render_email(release, config, {}, render_html(release.body))
    marker = f'<p style="margin:0 0 16px 0;font-weight:bold;color:#b00020;">{html.escape(note)}</p>\n'
    page = re.sub(r"(<body[^>]*>\n?)", lambda m: m.group(1) + marker, parts.html, count=1)
    key = f"{release.id}.korrektur-{date.astimezone(config.site.tz):%Y%m%dT%H%M}"
    text = "\n".join([note] + [line for line in parts.text.split("\n") if line != note])  # the note once, first
    return FollowUp("correction", key, f"KORREKTUR: {release.title}", text, page, date)


class FollowUpComposer(Composer):
    """Addresses a follow-up to each recipient, answering the message they received."""

    def __init__(self, config: Config, release: Release, secret: bytes, followup: FollowUp,
                 originals: Mapping[str, str], signer: Signer | None = None):
        super().__init__(config, release, secret, signer=signer)
        self.followup, self.originals = followup, originals
        # the ledger key as the release id, the follow-up's subject as its title (no Sperrfrist any more)
        self.release = replace(release, id=followup.key, title=followup.subject, embargo=None)
        self.attachments = ()

    def headers(self, recipient: Recipient) -> list[tuple[str, str]]:
        """The list headers, and In-Reply-To/References naming the recipient's original message."""
        original = self.originals.get(recipient.key)
        thread = [("In-Reply-To", original), ("References", original)] if original else []
        return thread + super().headers(recipient)

    def message(self, recipient: Recipient, message_id: str, date: datetime) -> bytes:
        """The follow-up for one recipient, dated `date` (the hand-over to the server), signed when [dkim] is set."""
        to = f'"{recipient.name}" <{recipient.address}>' if recipient.name else recipient.address
        data: bytes = self.mail.build_message(self.release, self.config, self.followup.text, self.followup.html,
                                              to=to, message_id=message_id, extra_headers=self.headers(recipient),
                                              date=date)
        return self.signer.sign(data) if self.signer else data
