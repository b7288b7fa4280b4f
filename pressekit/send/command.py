"""`pressekit send`: deliver one release to the editors' list over SMTP, never losing or doubling a message.

Steps of `send_release`:
1. validate the site as `build` does (`validate.load_valid_site`, photos and templates checked with this
   release); refuse drafts, and embargoes unless `--embargo`;
2. validate the whole recipient list and the suppression list (every problem, `editors.csv:LINE: ...`);
3. choose the recipients: not suppressed, sharing a tag with the release (or having none);
4. read the ledger: what earlier runs of this round sent, what is still open;
5. `--dry-run`: write the messages to `.pressekit/outbox/<id>/` and stop (the ledger is only read);
6. connect (TLS, AUTH), note whether the server offers SMTPUTF8, record the new rows as `pending`;
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
- Non-ASCII local parts (RFC 6531/6532) go out when the server offers SMTPUTF8: MAIL FROM ... SMTPUTF8 and
  the UTF-8 address in To (mail.build_message(utf8=True), under the same header guard); without SMTPUTF8
  such a recipient is recorded `failed` with the reason, and the others are sent to.

Where the parts live: `composer` addresses the release's e-mail to each recipient (Message-ID, List-*
headers), `unsubscribe` makes and checks the tokens, `smtp` speaks to the server, `delivery` plans the
jobs against the ledger and runs the loop (retries, reconnects, rate limit). This module checks the
input, orchestrates the run and formats what the user reads.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import smtplib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from .. import dates
from ..cache import write_atomic
from ..config import Config
from ..config_file import load_config
from ..dates import lift_time
from ..dkim import load_signer
from ..errors import BuildFailed, PressekitError, display_path
from ..ledger import Delivery, Ledger, LedgerDamaged, open_ledger, read_ledger, set_aside
from ..model import Release
from ..paths import OUTBOX, RELEASES_DIR, send_lock
from ..progress import Report as Progress
from ..recipients import Recipient, Suppressions, load_recipients
from ..releases import find_bundles, load_release
from ..unsubscribe import unsubscribe_secret
from .audience import Audience, AudienceOpener
from .composer import Composer, check_addressable, envelope_sender, release_photos
from .delivery import Clock, DeliveryLoop, Job, LoopResult, RetryPolicy, make_report, plan_jobs, shuffle_seed
from .options import Selection, SendDeferred, SendOptions, SendReport, SystemClock
from .smtp import SmtpSession, smtp_password

# --- the run ------------------------------------------------------------------------------------

def send_release(root: Path, release_id: str, list_path: Path | None, list_shown: str, now: datetime,
                 options: SendOptions = SendOptions(), *, clock: Clock | None = None,
                 retry: RetryPolicy = RetryPolicy(), progress: Progress | None = None,
                 environ: Mapping[str, str] | None = None, audience: AudienceOpener | None = None) -> SendReport:
    """Send (or with dry_run write) the release's messages to the list at `list_path`, or without one to the
    audience the caller opens (the site's subscribers); raise BuildFailed or PressekitError on bad input."""
    clock = clock or SystemClock()
    environ = os.environ if environ is None else environ
    config, release = load_release_to_send(root, release_id, now)
    check_sendable(release, now, options.embargo, config.site.tz)
    release = release.at(now)  # with its corrections, without expired photos
    rate = send_rate(config, options)
    with contextlib.ExitStack() as stack:
        opened = None
        if list_path is None:  # the subscribers of the site, opened by the caller
            if audience is None:
                raise TypeError("send_release without a list_path needs an audience")
            opened = audience(config, environ)
            stack.callback(opened.close)
            selection, suppressions = choose_subscribers(config, release, opened)
        else:
            selection, suppressions = choose_recipients(config, release, list_path, list_shown)
        secret = unsubscribe_secret(config, environ) if config.send.unsubscribe_url else b""
        signer, problems = load_signer(config, environ)
        if problems:
            raise BuildFailed(problems)
        composer = Composer(config, release, secret, *release_photos(config, release, progress), audience=opened,
                            signer=signer)
        if options.dry_run:
            check_addressable(composer, list(selection.recipients), list_shown)
            return dry_run(config, release, selection, composer, options, now)  # --now dates a dry run
        return deliver(config, release, selection, composer, options, list_shown, rate, clock, retry,
                        progress, environ, suppressions)


def deliver(config: Config, release: Release, selection: Selection, composer: Composer, options: SendOptions,
             list_shown: str, rate: float, clock: Clock, retry: RetryPolicy, progress: Progress | None,
             environ: Mapping[str, str], suppressions: Suppressions) -> SendReport:
    """Send the planned messages under the release's lock, every step in the ledger first; the report of the run."""
    password = smtp_password(config.smtp, environ)
    recipients = list(selection.recipients)
    with release_lock(config.root, release.id):
        moved = set_aside(config.root, clock.now()) if options.new_ledger else None
        ledger = open_ledger(config.root)
        try:
            recovered = ledger.recover_in_flight(release.id, clock.now())
            plan = plan_jobs(ledger, release, recipients, composer, options)
            loop = LoopResult()
            if plan.jobs:
                with contextlib.closing(SmtpSession(config.smtp, password)) as session:
                    open_session(session)
                    composer.smtputf8 = session.supports("smtputf8")  # without: non-ASCII local parts fail
                    check_addressable(composer, [r for r in recipients if composer.smtputf8], list_shown)
                    ledger.round_seed(release.id, plan.round, shuffle_seed(release.id, plan.round))
                    ledger.add_pending(release.id, plan.round, [j.new_delivery() for j in plan.jobs], clock.now())
                    loop = DeliveryLoop(ledger, session, envelope_sender(config), composer, release.id, clock, retry,
                                        rate, progress, suppressions).run(plan.jobs)
            open_rows = open_deliveries(ledger, release.id, plan.round, recipients)
        finally:
            ledger.close()
    return make_report(selection, plan, loop, recovered=recovered, open=open_rows,
                       set_aside=display_path(moved, config.root) if moved else "")


def open_deliveries(ledger: Ledger, key: str, round: int, recipients: list[Recipient]) -> dict[str, Delivery]:
    """The rows of the round's recipients that are not sent (deferred, failed, unknown), as the ledger holds them."""
    keys = {r.key for r in recipients}
    return {k: d for k, d in ledger.deliveries(key, round).items() if d.state != "sent" and k in keys}


def load_site_config(root: Path) -> Config:
    """The site's configuration; raise BuildFailed with every problem."""
    config, errors = load_config(root)
    if config is None:
        raise BuildFailed(errors)
    return config


def load_release_to_send(root: Path, release_id: str, now: datetime) -> tuple[Config, Release]:
    """The validation of `build` (photos and templates checked with this release); raise PressekitError or
    BuildFailed, so a release that fails `build` fails `send` alike."""
    from ..validate import load_valid_site

    _bundle(root, release_id)  # an unknown id is named before the site's errors
    config, releases = load_valid_site(root, now, only=release_id)
    return config, next(r for r in releases if r.id == release_id)


def _bundle(root: Path, release_id: str) -> Path:
    """The index.md of the release with this id; raise PressekitError with a did-you-mean hint."""
    bundles = {p.parent.name: p for p in find_bundles(root / RELEASES_DIR)}
    if release_id not in bundles:
        close = difflib.get_close_matches(release_id, sorted(bundles), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"the id is the folder name under {RELEASES_DIR}/"
        raise PressekitError(f"no release with the id '{release_id}'", hint)
    return bundles[release_id]


def find_release(config: Config, release_id: str) -> Release:
    """Load the one release with this id (for `status`, which only reads its embargo); raise PressekitError
    or BuildFailed."""
    release, errors = load_release(_bundle(config.root, release_id), config)
    if release is None:
        raise BuildFailed(errors)
    return release


def check_sendable(release: Release, now: datetime, embargo_ok: bool, tz: tzinfo = timezone.utc) -> None:
    """Raise PressekitError when the release must not go out at `now` (draft, embargo, future date)."""
    if release.draft:
        raise PressekitError(f"{release.id} is a draft (draft: true); drafts are never sent")
    if release.is_withdrawn(now):
        raise PressekitError(f"{release.id} is withdrawn (withdrawn:); it is not sent any more\n"
                             f"  hint: pressekit send {release.id} --withdrawal tells those who received it")
    if release.embargo and now < release.embargo:
        if not embargo_ok:
            lift = lift_time(release.embargo, tz)
            raise PressekitError(f"{release.id} is under embargo until {lift} (Sperrfrist); it is sent before then "
                                 "only with --embargo, which puts the Sperrfrist into subject and body")
    elif release.date > now:
        day = dates.day(release.date, tz)
        raise PressekitError(f"{release.id} is dated {day}, later than now; it is not public yet\n"
                             "  hint: give it an embargo and send it ahead with --embargo")


def choose_recipients(config: Config, release: Release, list_path: Path,
                      list_shown: str) -> tuple[Selection, Suppressions]:
    """Validate the list and the suppression file; return who gets this release and who not, and
    the suppression list to consult again before each message."""
    recipients, problems = load_recipients(list_path, list_shown)
    suppressions = suppression_list(config)
    problems += suppressions.load()
    suppressed = suppressions.keys
    if any(not p.warning for p in problems):
        raise BuildFailed(problems)
    chosen = [r for r in recipients if r.key not in suppressed and r.wants(release.tags)]
    held = sum(1 for r in recipients if r.key in suppressed)
    return Selection(release.id, tuple(chosen), suppressed=held, other_tags=len(recipients) - held - len(chosen),
                     warnings=tuple(problems)), suppressions


def choose_subscribers(config: Config, release: Release,
                       audience: Audience) -> tuple[Selection, Suppressions]:
    """The confirmed subscribers whose topics meet the release's tags, less the suppression list."""
    chosen, other_topics = audience.recipients(release)
    suppressions = suppression_list(config)
    problems = suppressions.load()
    if any(not p.warning for p in problems):
        raise BuildFailed(problems)
    recipients = [r for r in chosen if r.key not in suppressions.keys]
    return Selection(release.id, tuple(recipients), suppressed=len(chosen) - len(recipients), other_tags=other_topics,
                     warnings=tuple(problems)), suppressions


def suppression_list(config: Config) -> Suppressions:
    path = config.root / config.send.suppress if config.send.suppress else None
    return Suppressions(path, display_path(path, config.root) if path else "")


def dry_run(config: Config, release: Release, selection: Selection, composer: Composer,
             options: SendOptions, when: datetime) -> SendReport:
    """Write what a real run would send to `.pressekit/outbox/<id>/`; the ledger is only read."""
    ledger = _read_for_dry_run(config.root, options.new_ledger)
    try:
        plan = plan_jobs(ledger, release, selection.recipients, composer, options)
    finally:
        if ledger:
            ledger.close()
    folder = config.root / OUTBOX / release.id
    for old in folder.glob("*.eml"):
        old.unlink()
    return make_report(selection, plan, outbox=tuple(_write_outbox(folder, plan.jobs, composer, when)))


def _write_outbox(folder: Path, jobs: Sequence[Job], composer: Composer, when: datetime) -> Iterator[Path]:
    width = len(str(len(jobs)))
    for n, job in enumerate(jobs, 1):
        name = re.sub(r"[^A-Za-z0-9._@+-]", "_", job.recipient.address)
        path = folder / f"{n:0{width}d}-{name}.eml"
        write_atomic(path, composer.message(job.recipient, job.message_id, when))  # CacheWriteError on a full disk
        yield path


def _read_for_dry_run(root: Path, new_ledger: bool) -> Ledger | None:
    """The ledger a dry run plans against; with --new-ledger a damaged one counts as none (nothing is moved)."""
    try:
        return read_ledger(root)
    except LedgerDamaged:
        if new_ledger:
            return None
        raise


def open_session(session: SmtpSession) -> None:
    """Connect before anything is recorded."""
    try:
        session.connect()
    except (smtplib.SMTPException, OSError) as exc:  # SmtpFatal is neither: it stops the run as it is
        raise SendDeferred(f"cannot reach the SMTP server {session.where}: {exc}; nothing was sent") from exc


@contextlib.contextmanager
def release_lock(root: Path, release_id: str) -> Iterator[None]:
    """Hold an exclusive lock so that two runs never send the same release at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the ledger's transactions still keep rows consistent
        yield
        return
    path = root / send_lock(release_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PressekitError(f"another 'pressekit send {release_id}' is running in this site") from None
        yield


def send_rate(config: Config, options: SendOptions) -> float:
    rate = config.send.rate if options.rate is None else options.rate
    if rate < 0:
        raise PressekitError(f"the rate must be 0 (no limit) or more messages a minute, not {rate:g}")
    return rate


# --- what the user reads ------------------------------------------------------------------------

def format_summary(report: SendReport, list_shown: str) -> list[str]:
    """The lines printed after a run: counts, then each recipient that did not get the message."""
    if report.outbox:
        folder = report.outbox[0].parent
        return [f"Dry run: {len(report.outbox)} message{'s' if len(report.outbox) != 1 else ''} of {report.release} "
                f"written to {folder}/ (nothing sent, the ledger is unchanged)."]
    lines = []
    if report.set_aside:
        lines.append(f"The damaged ledger was moved to {report.set_aside}; "
                     "a new one was started.")
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
    if report.left:
        lines.append(f"{report.left} subscriber{'s' if report.left != 1 else ''} left during the run: not sent.")
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
    shown = ("sent", "pending", "deferred", "failed", "unknown") + (("suppressed",) if counts["suppressed"] else ())
    lines = [f"{release_id}: round {latest}, started {first}, last change {last}",
             f"  {len(rows)} recipients: " + ", ".join(f"{counts[s]} {s}" for s in shown)]
    for state in ("failed", "unknown", "deferred", "pending", "suppressed"):
        for d in (d for d in rows.values() if ("unknown" if d.state == "sending" else d.state) == state):
            lines.append(f"  {state:8} {d.address}  {d.reply}  ({d.attempts} attempt{'s' if d.attempts != 1 else ''}, "
                         f"{d.updated})")
    return lines
