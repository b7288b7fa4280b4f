"""`pressekit send`: deliver one release to the editors' list over SMTP, never losing or doubling a message.

Steps of `send_release`:
1. load pressekit.toml and the one release; refuse drafts, and embargoes unless `--embargo`;
2. validate the whole recipient list and the suppression list (every problem, `editors.csv:LINE: ...`);
3. choose the recipients: not suppressed, sharing a tag with the release (or having none);
4. read the ledger: what earlier runs of this round sent, what is still open;
5. `--dry-run`: write the messages to `.pressekit/outbox/<id>/` and stop (the ledger is only read);
6. connect (TLS, AUTH), check SMTPUTF8 for non-ASCII addresses, record the new rows as `pending`;
7. send one message per recipient, committing each state change before the next SMTP step,
   retrying 4xx with exponential backoff, reconnecting when the connection drops, at the rate limit.

Decisions:
- Message-ID `<{release.id}.{sha256(release.id, address)[:16]}@{domain}>`; a `--resend` round N >= 2
  adds `.rN` before the `@`; a retry (deferred, `--retry-unknown`) keeps the ID stored in the ledger.
- List-Unsubscribe: the configured mailto, plus `<unsubscribe_url>?token=<base64url(address)>.<hmac>`
  when `[send] unsubscribe_url` is set (then also `List-Unsubscribe-Post: List-Unsubscribe=One-Click`).
  The HMAC key is $PRESSEKIT_UNSUBSCRIBE_SECRET, else a random key made once in
  `.pressekit/unsubscribe.key`; the endpoint checks a token with `verify_unsubscribe_token`.
- Exit status: 0 all delivered; 75 something deferred (run again later); 1 something failed, is
  unknown (a person decides: `--retry-unknown`), the input is invalid, or the login was refused.
- Non-ASCII local parts are checked before anything is sent: against the server's SMTPUTF8 and
  against mail.build_message, which writes ASCII addresses only.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import hashlib
import heapq
import hmac
import os
import re
import secrets
import smtplib
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from .config import Config, Smtp, load_config
from .errors import BuildFailed, PressekitError, SourceError, display_path
from .ledger import Delivery, Ledger, NewDelivery, open_ledger, read_ledger
from .model import Release, Variant
from .recipients import Recipient, load_recipients, load_suppressed, normalize_address
from .releases import RELEASES_DIR, find_bundles, load_release

EX_TEMPFAIL = 75
UNSUBSCRIBE_SECRET_ENV = "PRESSEKIT_UNSUBSCRIBE_SECRET"
UNSUBSCRIBE_KEY_FILE = ".pressekit/unsubscribe.key"
OUTBOX = ".pressekit/outbox"
PHOTO_CACHE = ".pressekit/cache"   # the build's cache (build.CACHE_DIR): variants made there are reused

Progress = Callable[[str, int, int], None]


# --- options, clock, report ---------------------------------------------------------------------

@dataclass(frozen=True)
class SendOptions:
    """The command-line switches of `pressekit send`."""

    dry_run: bool = False
    embargo: bool = False         # allow sending before the embargo lifts (the message carries the Sperrfrist)
    resend: bool = False          # start a new round: everyone again, with new Message-IDs
    retry_unknown: bool = False   # send `unknown` rows again, with their Message-ID
    rate: float | None = None     # messages per minute; None: [send] rate; 0: unlimited


@dataclass(frozen=True)
class RetryPolicy:
    """How often a deferred recipient is tried within one run, and the first backoff wait."""

    attempts: int = 4
    backoff: float = 5.0        # seconds; doubles after each try (5, 10, 20 s)
    reconnects: int = 3         # tries to reach the server again after the connection broke


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def now(self) -> datetime: ...


class SystemClock:
    """The real clock: ledger timestamps, rate limit and backoff waits."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class SendReport:
    """What a run did and where the round stands, for the summary and the exit status."""

    release: str
    round: int = 1
    listed: int = 0               # recipients of this release after tags and suppression
    sent: int = 0                 # sent in this run
    already: int = 0              # sent by an earlier run of this round
    suppressed: int = 0
    other_tags: int = 0
    new_round: bool = False
    recovered: int = 0            # rows a dead run left in flight, now `unknown`
    outbox: list[Path] = field(default_factory=list)
    warnings: list[SourceError] = field(default_factory=list)
    open: dict[str, Delivery] = field(default_factory=dict)   # deferred/failed/unknown rows at the end
    stopped: str = ""             # why the run stopped early (server unreachable)

    def count(self, state: str) -> int:
        return sum(1 for d in self.open.values() if d.state == state)

    @property
    def skipped(self) -> int:
        return self.suppressed + self.other_tags + self.already

    @property
    def exit_code(self) -> int:
        """0 all delivered; 1 failed or unknown (a person must decide); 75 deferred (run again later)."""
        if self.count("failed") or self.count("unknown"):
            return 1
        return EX_TEMPFAIL if self.count("deferred") or self.count("pending") else 0


class SendDeferred(PressekitError):
    """The server could not be reached before anything was sent: try again later (exit 75)."""


# --- the run ------------------------------------------------------------------------------------

def send_release(root: Path, release_id: str, list_path: Path, list_shown: str, now: datetime,
                 options: SendOptions = SendOptions(), *, clock: Clock | None = None,
                 retry: RetryPolicy = RetryPolicy(), progress: Progress | None = None,
                 environ: Mapping[str, str] | None = None) -> SendReport:
    """Send (or with dry_run write) the release's messages; raise BuildFailed or PressekitError on bad input."""
    clock = clock or SystemClock()
    environ = os.environ if environ is None else environ
    config = _load_config(root)
    release = find_release(config, release_id)
    check_sendable(release, now, options.embargo, config.site.tz)
    rate = _rate(config, options)
    recipients, report = choose_recipients(config, release, list_path, list_shown)
    secret = unsubscribe_secret(config, environ) if config.send.unsubscribe_url else b""
    composer = Composer(config, release, secret, *release_photos(config, release, progress))
    if options.dry_run:
        check_addressable(composer, recipients, list_shown)
        return _dry_run(config, release, recipients, composer, options, report)
    password = smtp_password(config.smtp, environ)
    with _release_lock(config.root, release.id):
        ledger = open_ledger(config.root)
        try:
            report.recovered = ledger.recover_in_flight(release.id, clock.now())
            jobs = plan_jobs(ledger, release, recipients, composer, options, report)
            if jobs:
                with contextlib.closing(SmtpSession(config.smtp, password)) as session:
                    _open_session(session, recipients, list_shown)
                    check_addressable(composer, recipients, list_shown)
                    ledger.add_pending(release.id, report.round, [j.new_delivery() for j in jobs], clock.now())
                    _Delivery(ledger, session, _envelope_sender(config), composer, report, clock, retry,
                              rate, progress).run(jobs)
            keys = {r.key for r in recipients}
            report.open = {k: d for k, d in ledger.deliveries(release.id, report.round).items()
                           if d.state != "sent" and k in keys}
        finally:
            ledger.close()
    return report


def _load_config(root: Path) -> Config:
    config, errors = load_config(root)
    if config is None:
        raise BuildFailed(errors)
    return config


def find_release(config: Config, release_id: str) -> Release:
    """Load and validate the one release with this id; raise PressekitError or BuildFailed."""
    bundles = {p.parent.name: p for p in find_bundles(config.root / RELEASES_DIR)}
    if release_id not in bundles:
        close = difflib.get_close_matches(release_id, sorted(bundles), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"the id is the folder name under {RELEASES_DIR}/"
        raise PressekitError(f"no release with the id '{release_id}'\n  hint: {hint}")
    release, errors = load_release(bundles[release_id], config)
    if release is None:
        raise BuildFailed(errors)
    return release


def check_sendable(release: Release, now: datetime, embargo_ok: bool, tz: tzinfo = timezone.utc) -> None:
    """Raise PressekitError when the release must not go out at `now` (draft, embargo, future date)."""
    if release.draft:
        raise PressekitError(f"{release.id} is a draft (draft: true); drafts are never sent")
    if release.embargo and now < release.embargo:
        if not embargo_ok:
            lift = release.embargo.astimezone(tz).strftime("%d.%m.%Y, %H:%M Uhr")
            raise PressekitError(f"{release.id} is under embargo until {lift} (Sperrfrist); it is sent before then "
                                 "only with --embargo, which puts the Sperrfrist into subject and body")
    elif release.date > now:
        day = release.date.astimezone(tz).strftime("%d.%m.%Y")
        raise PressekitError(f"{release.id} is dated {day}, later than now; it is not public yet\n"
                             "  hint: give it an embargo and send it ahead with --embargo")


def choose_recipients(config: Config, release: Release, list_path: Path,
                      list_shown: str) -> tuple[list[Recipient], SendReport]:
    """Validate the list and the suppression file; return who gets this release and a report of the rest."""
    recipients, problems = load_recipients(list_path, list_shown)
    suppressed: set[str] = set()
    if config.send.suppress:
        suppress_path = config.root / config.send.suppress
        suppressed, more = load_suppressed(suppress_path, display_path(suppress_path, config.root))
        problems += more
    if any(not p.warning for p in problems):
        raise BuildFailed(problems)
    report = SendReport(release.id, warnings=problems)
    chosen = []
    for r in recipients:
        if r.key in suppressed:
            report.suppressed += 1
        elif not r.wants(release.tags):
            report.other_tags += 1
        else:
            chosen.append(r)
    report.listed = len(chosen)
    return chosen, report


# --- messages -----------------------------------------------------------------------------------

def release_photos(config: Config, release: Release,
                   progress: Progress | None) -> tuple[Mapping[tuple[str, str], tuple[Variant, ...]], dict[str, Path]]:
    """The release's photo variants (from the build's cache, made when missing), so links match output/."""
    from . import photos

    if not release.photos:
        return {}, {}
    made = photos.make_variants([release], config, config.root / PHOTO_CACHE, jobs=1,
                                progress=(lambda d, t: progress("Fotos", d, t)) if progress else None)
    if made.errors:
        raise BuildFailed(made.errors)
    return made.variants, {f.relpath: f.source for f in made.files if f.source is not None}


class Composer:
    """Builds the per-recipient messages from the release's e-mail, rendered once."""

    def __init__(self, config: Config, release: Release, secret: bytes,
                 variants: Mapping[tuple[str, str], tuple[Variant, ...]] = {},
                 variant_files: Mapping[str, Path] | None = None):
        from . import mail
        from .markup import render_html

        if not (config.send.unsubscribe_mailto or config.send.unsubscribe_url):
            raise PressekitError("pressekit.toml: [send] needs unsubscribe_mailto or unsubscribe_url: "
                                 "every message carries a List-Unsubscribe header")
        self.mail, self.config, self.release, self.secret = mail, config, release, secret
        self.parts = mail.render_email(release, config, variants, render_html(release.body),
                                       variant_files=variant_files)
        self.attachments = (mail.photo_attachments(release, config, variants, variant_files)
                            if config.email.attach_photos else ())
        self.domain = _punycode_domain(config.site.domain)
        default = self.domain if self.domain.startswith("presse.") else f"presse.{self.domain}"
        self.list_id = (config.send.list_id or default).strip("<>")

    def message_id(self, recipient: Recipient, round: int) -> str:
        """`<release.hash16[.rN]@domain>`: stable for (release, recipient, round), so a retry is recognisable."""
        digest = hashlib.sha256(f"{self.release.id}\0{recipient.key}".encode()).hexdigest()[:16]
        suffix = f".r{round}" if round > 1 else ""
        return f"<{self.release.id}.{digest}{suffix}@{self.domain}>"

    def headers(self, recipient: Recipient) -> list[tuple[str, str]]:
        """List-Id, List-Unsubscribe (mailto, https with a per-recipient token) and List-Unsubscribe-Post."""
        links = []
        if self.config.send.unsubscribe_mailto:
            links.append(f"<{self.config.send.unsubscribe_mailto}>")
        if url := self.config.send.unsubscribe_url:
            token = unsubscribe_token(self.secret, self.list_id, recipient.address)
            links.append(f"<{url}{'&' if '?' in url else '?'}token={token}>")
        headers = [("List-Id", f"<{self.list_id}>"), ("List-Unsubscribe", ", ".join(links))]
        if self.config.send.unsubscribe_url:
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        return headers

    def message(self, recipient: Recipient, message_id: str) -> bytes:
        """The complete message for one recipient; raises mail.HeaderError when a header would break."""
        # The name holds no quote or backslash (recipients.check_name), so quoting it is enough.
        to = f'"{recipient.name}" <{recipient.address}>' if recipient.name else recipient.address
        return self.mail.build_message(self.release, self.config, self.parts.text, self.parts.html, to=to,
                                       message_id=message_id, extra_headers=self.headers(recipient),
                                       attachments=self.attachments)


def unsubscribe_token(secret: bytes, list_id: str, address: str) -> str:
    """`<base64url(address)>.<hmac>`: names the recipient and proves pressekit issued it."""
    encoded = base64.urlsafe_b64encode(address.encode()).decode().rstrip("=")
    return f"{encoded}.{_token_mac(secret, list_id, address)}"


def verify_unsubscribe_token(secret: bytes, list_id: str, token: str) -> str | None:
    """Return the address a token was issued for, or None when it is forged or garbled."""
    encoded, _, mac = token.partition(".")
    try:
        address = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return address if hmac.compare_digest(mac, _token_mac(secret, list_id, address)) else None


def _token_mac(secret: bytes, list_id: str, address: str) -> str:
    data = f"unsubscribe\0{list_id}\0{address.casefold()}".encode()
    return hmac.new(secret, data, hashlib.sha256).hexdigest()[:32]


def unsubscribe_secret(config: Config, environ: Mapping[str, str]) -> bytes:
    """The token key: $PRESSEKIT_UNSUBSCRIBE_SECRET, else `.pressekit/unsubscribe.key` (made once, random)."""
    if value := environ.get(UNSUBSCRIBE_SECRET_ENV):
        return value.encode()
    path = config.root / UNSUBSCRIBE_KEY_FILE
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        return path.read_text().strip().encode()
    except FileExistsError:
        return path.read_text().strip().encode()
    except OSError as exc:
        raise PressekitError(f"{path}: cannot read or create the unsubscribe key: {exc}") from exc


def _punycode_domain(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain


def check_addressable(composer: Composer, recipients: list[Recipient], list_shown: str) -> None:
    """Build the message of every non-ASCII address now, so that a refusal is a list error, not a failure later."""
    errors = []
    for r in (r for r in recipients if r.needs_smtputf8):
        try:
            composer.message(r, composer.message_id(r, 1))
        except PressekitError as exc:
            errors.append(SourceError(list_shown, r.line, f"email {r.address!r}: no message can be addressed to it: "
                                      f"{exc}", "ask the editor for an address that is ASCII before the '@'"))
    if errors:
        raise BuildFailed(errors)


def _envelope_sender(config: Config) -> str:
    _, address = parseaddr(config.email.sender)
    try:
        return normalize_address(address)
    except ValueError as exc:
        raise PressekitError(f"pressekit.toml: [email] from needs a sender address for the envelope: {address!r} {exc}")


# --- planning against the ledger ----------------------------------------------------------------

@dataclass
class Job:
    """One message to send in this run."""

    recipient: Recipient
    message_id: str
    round: int
    tries: int = 0           # SMTP transactions tried in this run
    reconnected: bool = False

    def new_delivery(self) -> NewDelivery:
        return NewDelivery(self.recipient.key, self.recipient.address, self.recipient.name, self.message_id)


def plan_jobs(ledger: Ledger | None, release: Release, recipients: list[Recipient], composer: Composer,
              options: SendOptions, report: SendReport) -> list[Job]:
    """Return the messages this run sends: new, pending and deferred rows (and unknown when asked)."""
    latest = ledger.latest_round(release.id) if ledger else 0
    rows = ledger.deliveries(release.id, latest) if ledger and latest else {}
    keys = {r.key for r in recipients}
    unfinished = any(d.state in ("pending", "deferred") for k, d in rows.items() if k in keys)
    report.round = max(latest, 1)
    if options.resend and latest and not unfinished:
        report.round, report.new_round, rows = latest + 1, True, {}
    wanted = {"pending", "deferred"} | ({"unknown"} if options.retry_unknown else set())
    jobs = []
    for r in recipients:
        row = rows.get(r.key)
        # `sending` is only seen read-only (dry run): the next real run turns it into `unknown`.
        state = None if row is None else "unknown" if row.state == "sending" else row.state
        if row is None:
            jobs.append(Job(r, composer.message_id(r, report.round), report.round))
        elif state in wanted:
            jobs.append(Job(r, row.message_id, report.round))
        elif state == "sent":
            report.already += 1
    return jobs


def _dry_run(config: Config, release: Release, recipients: list[Recipient], composer: Composer,
             options: SendOptions, report: SendReport) -> SendReport:
    """Write what a real run would send to `.pressekit/outbox/<id>/`; the ledger is only read."""
    ledger = read_ledger(config.root)
    try:
        jobs = plan_jobs(ledger, release, recipients, composer, options, report)
    finally:
        if ledger:
            ledger.close()
    folder = config.root / OUTBOX / release.id
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    width = len(str(len(jobs)))
    for n, job in enumerate(jobs, 1):
        name = re.sub(r"[^A-Za-z0-9._@+-]", "_", job.recipient.address)
        path = folder / f"{n:0{width}d}-{name}.eml"
        path.write_bytes(composer.message(job.recipient, job.message_id))
        report.outbox.append(path)
    return report


# --- SMTP ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """The result of one SMTP transaction: sent, deferred, failed, unknown or lost (before the body)."""

    state: str
    reply: str
    stage: str    # where it ended: mail, rcpt, data, body (after `sending` was recorded), build


class SmtpFatal(PressekitError):
    """A problem that stops the run at once: authentication, TLS, a refused sender."""


class SmtpSession:
    """One reusable SMTP connection (reopened after a drop), speaking smtplib one command at a time."""

    def __init__(self, settings: Smtp, password: str | None):
        self.settings, self.password = settings, password
        self.smtp: smtplib.SMTP | None = None
        self.context: ssl.SSLContext | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def connect(self) -> None:
        """Open, EHLO, STARTTLS and AUTH; raise SmtpFatal for lasting problems, OSError/SMTPException else."""
        s = self.settings
        if (s.tls or s.starttls) and self.context is None:
            self.context = ssl.create_default_context()  # system CAs; slow to load, so made once
        context = self.context
        try:
            if s.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            self.smtp = smtp
            smtp.ehlo_or_helo_if_needed()
            if s.starttls:
                if not smtp.has_extn("starttls"):
                    raise SmtpFatal(f"the SMTP server {self.where} does not offer STARTTLS ([smtp] starttls = true)")
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                self._login(smtp)
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise SmtpFatal(f"the TLS certificate of {self.where} cannot be trusted: {exc.verify_message}") from exc
        except BaseException:
            self.close()
            raise

    def _login(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.login(self.settings.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpFatal(f"the SMTP server {self.where} refused the login of {self.settings.username!r}: "
                            f"{_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpFatal(f"the SMTP server {self.where} offers no AUTH here"
                            + ("" if self.settings.starttls or self.settings.tls else
                               " (it may want TLS first: [smtp] starttls = true)")) from exc

    def supports(self, extension: str) -> bool:
        return self.smtp is not None and self.smtp.has_extn(extension)

    def deliver(self, sender: str, recipient: str, message: bytes, on_body: Callable[[], None]) -> Outcome:
        """One transaction; `on_body` runs after the server's 354, just before the body goes out."""
        smtp = self.smtp
        assert smtp is not None
        options = ["SMTPUTF8", "BODY=8BITMIME"] if not recipient.isascii() else []
        steps: list[tuple[str, Callable[[], tuple[int, bytes]], tuple[int, ...]]] = [
            ("mail", lambda: smtp.mail(sender, options), (250,)),
            ("rcpt", lambda: smtp.rcpt(recipient), (250, 251)),
            ("data", lambda: _data_command(smtp), (354,))]
        stage = "mail"
        try:
            for stage, command, accepted in steps:
                code, text = command()
                if code not in accepted:
                    return self._refused(code, text, stage)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome("lost", f"connection lost: {exc}", stage)
        on_body()
        try:
            smtp.send(_dot_stuff(message))
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome("unknown", f"no reply after the message was sent: {exc}", "body")
        if code == 421:
            self.close()
        return Outcome("sent" if code == 250 else _classify(code), _reply(code, text), "body")

    def _refused(self, code: int, text: bytes, stage: str) -> Outcome:
        if code == 421:
            self.close()
            return Outcome("lost", _reply(code, text), stage)
        try:
            assert self.smtp is not None
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()
        return Outcome(_classify(code), _reply(code, text), stage)

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit() if self.smtp.sock else None
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None


def _data_command(smtp: smtplib.SMTP) -> tuple[int, bytes]:
    smtp.putcmd("data")
    return smtp.getreply()


def _dot_stuff(message: bytes) -> bytes:
    """CRLF line ends, leading dots doubled, the terminating `.` line (RFC 5321 4.5.2)."""
    body = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r?\n", b"\r\n", message))
    return body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def _classify(code: int) -> str:
    return "deferred" if 400 <= code < 500 else "failed"


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}".strip()


def smtp_password(settings: Smtp, environ: Mapping[str, str]) -> str | None:
    """The password from the environment variable [smtp] password_env names; None without a username."""
    if settings.tls and settings.starttls:
        raise PressekitError("pressekit.toml: [smtp] tls (implicit TLS) and starttls exclude each other; set one")
    if not settings.username:
        return None
    password = environ.get(settings.password_env)
    if password is None:
        raise PressekitError(f"[smtp] username is {settings.username!r}, but the environment variable "
                             f"{settings.password_env} ([smtp] password_env) that holds the password is not set")
    return password


def _open_session(session: SmtpSession, recipients: list[Recipient], list_shown: str) -> None:
    """Connect before anything is recorded; refuse non-ASCII local parts the server cannot take."""
    try:
        session.connect()
    except (smtplib.SMTPException, OSError) as exc:  # SmtpFatal is neither: it stops the run as it is
        raise SendDeferred(f"cannot reach the SMTP server {session.where}: {exc}; nothing was sent") from exc
    if session.supports("smtputf8"):
        return
    errors = [SourceError(list_shown, r.line, f"email {r.address!r} has a non-ASCII part before the '@', and the "
                          f"SMTP server {session.where} does not offer SMTPUTF8",
                          "ask the editor for an ASCII address or use a server with SMTPUTF8")
              for r in recipients if r.needs_smtputf8]
    if errors:
        session.close()
        raise BuildFailed(errors)


@contextlib.contextmanager
def _release_lock(root: Path, release_id: str) -> Iterator[None]:
    """Hold an exclusive lock so that two runs never send the same release at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the ledger's transactions still keep rows consistent
        yield
        return
    path = root / ".pressekit" / f"send-{release_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PressekitError(f"another 'pressekit send {release_id}' is running in this site") from None
        yield


# --- the delivery loop --------------------------------------------------------------------------

class RateLimiter:
    """At most `per_minute` transactions a minute, evenly spaced; 0 means no limit."""

    def __init__(self, per_minute: float, clock: Clock):
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.clock = clock
        self.next: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock.monotonic()
        if self.next is not None and now < self.next:
            self.clock.sleep(self.next - now)
            now = self.next
        self.next = now + self.interval


def _rate(config: Config, options: SendOptions) -> float:
    rate = config.send.rate if options.rate is None else options.rate
    if rate < 0:
        raise PressekitError(f"the rate must be 0 (no limit) or more messages a minute, not {rate:g}")
    return rate


class _Delivery:
    """The loop: one job at a time, retries due by backoff, every state committed before the next step."""

    def __init__(self, ledger: Ledger, session: SmtpSession, sender: str, composer: Composer, report: SendReport,
                 clock: Clock, retry: RetryPolicy, rate: float, progress: Progress | None):
        self.ledger, self.session, self.sender, self.composer = ledger, session, sender, composer
        self.report, self.clock, self.retry, self.progress = report, clock, retry, progress
        self.limiter = RateLimiter(rate, clock)
        self.waiting: list[tuple[float, int, Job]] = []   # (due, order, job) of deferred jobs
        self.done = self.total = 0

    def run(self, jobs: Sequence[Job]) -> None:
        queue, self.total = deque(jobs), len(jobs)
        self._progress()
        while queue or self.waiting:
            if self.waiting and (not queue or self.waiting[0][0] <= self.clock.monotonic()):
                due, _, job = heapq.heappop(self.waiting)
                if due > self.clock.monotonic():
                    self.clock.sleep(due - self.clock.monotonic())
            else:
                job = queue.popleft()
            if not self._attempt(job):
                self._give_up([job, *queue, *(j for _, _, j in self.waiting)])
                return

    def _attempt(self, job: Job) -> bool:
        """Send one job and record the outcome; False when the server cannot be reached any more."""
        if self.session.smtp is None and not self._reconnect():
            return False
        try:
            message = self.composer.message(job.recipient, job.message_id)
        except PressekitError as exc:  # the header guard of mail.build_message
            self._record(job, Outcome("failed", f"message not built: {exc}", "build"), final=True)
            return True
        self.limiter.wait()
        outcome = self.session.deliver(self.sender, job.recipient.address, message,
                                       lambda: self._mark(job, "sending", "", attempt=True))
        if outcome.state == "lost" and not job.reconnected:
            job.reconnected = True  # a server closing idle or full connections: reconnect, try at once
            return self._attempt(job)
        if outcome.stage == "mail" and outcome.state == "failed":
            raise SmtpFatal(f"the SMTP server {self.session.where} refuses the sender {self.sender}: {outcome.reply}")
        job.tries, job.reconnected = job.tries + 1, False
        if outcome.state in ("deferred", "lost") and job.tries < self.retry.attempts:
            self._record(job, outcome, final=False)
            delay = self.retry.backoff * 2 ** (job.tries - 1)
            heapq.heappush(self.waiting, (self.clock.monotonic() + delay, id(job), job))
        else:
            self._record(job, outcome, final=True)
        return True

    def _record(self, job: Job, outcome: Outcome, final: bool) -> None:
        state = "deferred" if outcome.state == "lost" else outcome.state
        # A transaction that reached the body was counted when it was marked `sending`.
        self._mark(job, state, outcome.reply, attempt=outcome.stage not in ("body", "build"))
        if state == "sent":
            self.report.sent += 1
        if final:
            self.done += 1
            self._progress()

    def _mark(self, job: Job, state: str, reply: str, attempt: bool = False) -> None:
        self.ledger.mark(self.report.release, job.round, job.recipient.key, state, self.clock.now(), reply, attempt)

    def _reconnect(self) -> bool:
        for n in range(self.retry.reconnects):
            try:
                self.session.connect()
                self.report.stopped = ""
                return True
            except (smtplib.SMTPException, OSError) as exc:
                self.report.stopped = f"cannot reach the SMTP server {self.session.where}: {exc}"
                if n + 1 < self.retry.reconnects:
                    self.clock.sleep(self.retry.backoff * 2 ** n)
        return False

    def _give_up(self, jobs: list[Job]) -> None:
        """The server stays unreachable: leave every remaining job deferred for the next run."""
        for job in jobs:
            self._mark(job, "deferred", f"not sent: {self.report.stopped}")
        self.done += len(jobs)
        self._progress()

    def _progress(self) -> None:
        if self.progress:
            self.progress("Versand", self.done, self.total)


# --- what the user reads ------------------------------------------------------------------------

def format_summary(report: SendReport, list_shown: str) -> list[str]:
    """The lines printed after a run: counts, then each recipient that did not get the message."""
    if report.outbox:
        folder = report.outbox[0].parent
        return [f"Dry run: {len(report.outbox)} message{'s' if len(report.outbox) != 1 else ''} of {report.release} "
                f"written to {folder}/ (nothing sent, the ledger is unchanged)."]
    lines = []
    if report.recovered:
        lines.append(f"{report.recovered} message{'s were' if report.recovered != 1 else ' was'} in flight when an "
                     "earlier run stopped: recorded as unknown.")
    skipped = [f"{n} {what}" for n, what in ((report.suppressed, "suppressed"), (report.other_tags, "other tags"),
                                             (report.already, "sent before")) if n]
    detail = f" ({', '.join(skipped)})" if skipped else ""
    lines.append(f"{report.release}{f' (round {report.round})' if report.round > 1 else ''}: "
                 f"sent {report.sent}, skipped {report.skipped}{detail}, "
                 f"deferred {report.count('deferred')}, failed {report.count('failed')}, "
                 f"unknown {report.count('unknown')}.")
    lines += [f"  {d.state:8} {d.address}  {d.reply}" for d in report.open.values() if d.state != "pending"]
    if report.stopped:
        lines.append(f"Stopped early: {report.stopped}.")
    if report.count("deferred"):
        lines.append("Run the same command again later: deferred messages are sent then.")
    if report.count("unknown"):
        lines.append("The server may have the unknown ones; add --retry-unknown to send them again "
                     "(with the same Message-ID).")
    if not report.sent and not report.open and report.already:
        lines.append(f"{report.release} has already been sent to all {report.already} recipients of {list_shown}; "
                     "--resend sends it again.")
    return lines


def format_status(ledger: Ledger | None, release_id: str) -> list[str]:
    """`pressekit status`: the latest round's counts and every recipient that did not get the message."""
    latest = ledger.latest_round(release_id) if ledger else 0
    if not ledger or not latest:
        return [f"No sending of {release_id} is recorded."]
    rows = ledger.deliveries(release_id, latest)
    counts = Counter("unknown" if d.state == "sending" else d.state for d in rows.values())
    first = min(d.created for d in rows.values())
    last = max(d.updated for d in rows.values())
    lines = [f"{release_id}: round {latest}, started {first}, last change {last}",
             f"  {len(rows)} recipients: " + ", ".join(f"{counts[s]} {s}" for s in
                                                        ("sent", "pending", "deferred", "failed", "unknown"))]
    for state in ("failed", "unknown", "deferred", "pending"):
        for d in (d for d in rows.values() if ("unknown" if d.state == "sending" else d.state) == state):
            lines.append(f"  {state:8} {d.address}  {d.reply}  ({d.attempts} attempt{'s' if d.attempts != 1 else ''}, "
                         f"{d.updated})")
    return lines
