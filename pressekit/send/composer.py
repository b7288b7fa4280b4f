"""The per-recipient messages of `pressekit send`: the release's e-mail rendered once, then addressed.

Each message gets its recipient's To, a Message-ID stable for (release, recipient, round) and the
List-Id / List-Unsubscribe headers (with a per-recipient token from `unsubscribe`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path

from ..addresses import ascii_domain
from ..config import Config
from ..dkim import Signer
from ..errors import BuildFailed, PressekitError, SourceError
from ..mail import MailError
from ..model import Release, Variant
from ..paths import CACHE_DIR
from ..progress import Report as Progress
from ..recipients import Recipient, normalize_address
from ..unsubscribe import unsubscribe_token
from .audience import Audience

# Out-of-office replies and auto-responders (RFC 3834, Exchange) stay quiet for these.
AUTOMATIC = (("Auto-Submitted", "auto-generated"), ("Precedence", "bulk"), ("X-Auto-Response-Suppress", "All"))


def release_photos(config: Config, release: Release,
                   progress: Progress | None) -> tuple[Mapping[tuple[str, str], tuple[Variant, ...]], dict[str, Path]]:
    """The release's photo variants (from the build's cache, made when missing), so links match output/."""
    from .. import photos

    if not release.photos:
        return {}, {}
    made = photos.make_variants([release], config, config.root / CACHE_DIR, jobs=1,
                                progress=(lambda d, t: progress("Fotos", d, t)) if progress else None)
    if made.errors:
        raise BuildFailed(made.errors)
    return made.variants, {f.relpath: f.source for f in made.files if f.source is not None}


class Composer:
    """Builds the per-recipient messages from the release's e-mail, rendered once."""

    def __init__(self, config: Config, release: Release, secret: bytes,
                 variants: Mapping[tuple[str, str], tuple[Variant, ...]] = {},
                 variant_files: Mapping[str, Path] | None = None, audience: Audience | None = None,
                 signer: Signer | None = None):
        from .. import mail
        from ..markup import render_html

        self.audience = audience  # subscribers: their own unsubscribe links and footer
        if not (config.send.unsubscribe_mailto or config.send.unsubscribe_url or audience):
            raise PressekitError("pressekit.toml: [send] needs unsubscribe_mailto or unsubscribe_url: "
                                 "every message carries a List-Unsubscribe header")
        self.mail, self.config, self.release, self.secret, self.signer = mail, config, release, secret, signer
        self.parts = mail.render_email(release, config, variants, render_html(release.body),
                                       variant_files=variant_files)
        self.attachments = (mail.photo_attachments(release, config, variants, variant_files)
                            if config.email.attach_photos else ())
        self.domain = _punycode_domain(config.site.domain)
        default = self.domain if self.domain.startswith("presse.") else f"presse.{self.domain}"
        self.list_id = (config.send.list_id or default).strip("<>")
        self.smtputf8 = True  # does the server take non-ASCII local parts? set by `send` once connected

    def message_id(self, recipient: Recipient, round: int) -> str:
        """`<release.hash16[.rN]@domain>`: stable for (release, recipient, round), so a retry is recognisable."""
        digest = hashlib.sha256(f"{self.release.id}\0{recipient.key}".encode()).hexdigest()[:16]
        suffix = f".r{round}" if round > 1 else ""
        return f"<{self.release.id}.{digest}{suffix}@{self.domain}>"

    def headers(self, recipient: Recipient) -> list[tuple[str, str]]:
        """List-Id, List-Unsubscribe (mailto, https with a per-recipient token), List-Unsubscribe-Post and
        the headers that mark the message as automatic."""
        if self.audience:
            return [("List-Id", f"<{self.list_id}>"),
                    *self.audience.unsubscribe_links(recipient, self.config.send.unsubscribe_mailto),
                    *AUTOMATIC]
        links = []
        if self.config.send.unsubscribe_mailto:
            links.append(f"<{self.config.send.unsubscribe_mailto}>")
        if url := self.config.send.unsubscribe_url:
            token = unsubscribe_token(self.secret, self.list_id, recipient.address)
            links.append(f"<{url}{'&' if '?' in url else '?'}token={token}>")
        headers = [("List-Id", f"<{self.list_id}>"), ("List-Unsubscribe", ", ".join(links))]
        if self.config.send.unsubscribe_url:
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        return headers + list(AUTOMATIC)

    def message(self, recipient: Recipient, message_id: str, date: datetime) -> bytes:
        """The complete message for one recipient, dated `date` (the hand-over to the server);
        raises mail.HeaderError when a header would break."""
        # The name holds no quote or backslash (recipients.check_name), so quoting it is enough.
        to = f'"{recipient.name}" <{recipient.address}>' if recipient.name else recipient.address
        if recipient.needs_smtputf8 and not self.smtputf8:
            raise MailError(f"the address {recipient.address!r} has a non-ASCII part before the '@', and the SMTP "
                            "server does not offer SMTPUTF8; ask the editor for an ASCII address")
        text, html = self.parts.text, self.parts.html
        if self.audience:
            text, html = self.audience.personalize(recipient, text, html)
        message = self.mail.build_message(self.release, self.config, text, html, to=to,
                                          message_id=message_id, extra_headers=self.headers(recipient),
                                          attachments=self.attachments, date=date,
                                          utf8=recipient.needs_smtputf8)
        return self.signer.sign(message) if self.signer else message

    def still_wanted(self, recipient: Recipient) -> bool:
        """False when a subscriber left after the run began: asked right before each message."""
        return self.audience is None or self.audience.still_wanted(recipient)


def _punycode_domain(domain: str) -> str:
    try:
        return ascii_domain(domain)
    except ValueError:
        return domain


def check_addressable(composer: Composer, recipients: list[Recipient], list_shown: str) -> None:
    """Build the message of every non-ASCII address now, so that a refusal is a list error, not a failure later."""
    errors = []
    for r in (r for r in recipients if r.needs_smtputf8):
        try:
            composer.message(r, composer.message_id(r, 1), composer.release.published)
        except PressekitError as exc:
            errors.append(SourceError(list_shown, r.line, f"email {r.address!r}: no message can be addressed to it: "
                                      f"{exc}", "ask the editor for an address that is ASCII before the '@'"))
    if errors:
        raise BuildFailed(errors)


def envelope_sender(config: Config) -> str:
    """The envelope sender (MAIL FROM): the address of [email] from; raise PressekitError without one."""
    _, address = parseaddr(config.email.sender)
    try:
        return normalize_address(address)
    except ValueError as exc:
        raise PressekitError(f"pressekit.toml: [email] from needs a sender address for the envelope: {address!r} {exc}")
