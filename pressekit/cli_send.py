"""The sending commands: `send` (also the follow-ups), `status`, `publish` and `bounces`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_common import now_option, parse_now, site_option
from .errors import BuildFailed, PressekitError

if TYPE_CHECKING:
    from .ledger import Ledger


@click.command()
@click.argument("release_id", metavar="ID")
@click.option("--to", "to", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The editors' list: CSV with the columns email, name and optional tags "
                   "(default: the confirmed subscribers).")
@site_option
@now_option
@click.option("--dry-run", is_flag=True, help="Write the messages to .pressekit/outbox/ID/ instead of sending.")
@click.option("--embargo", is_flag=True, help="Send before the embargo lifts (subject and body carry the Sperrfrist).")
@click.option("--resend", is_flag=True, help="Send again to everyone, as a new round with new Message-IDs.")
@click.option("--retry-unknown", is_flag=True, help="Send again where the ledger says unknown (same Message-ID).")
@click.option("--rate", type=click.FloatRange(min=0), default=None, metavar="N",
              help="Messages a minute (default: [send] rate); 0: no limit.")
@click.option("--new-ledger", is_flag=True,
              help="Move a damaged ledger aside (it is kept) and start a new one: everyone counts as not yet sent.")
@click.option("--correction", is_flag=True, help="Send the newest correction (KORREKTUR) to everyone who got the release.")
@click.option("--withdrawal", is_flag=True, help="Tell everyone who got the release that it is withdrawn.")
@click.option("--takedown", metavar="FILE", help="Ask everyone who got the release to delete this photo.")
def send(release_id: str, to: Path | None, site: Path, now: str | None, dry_run: bool, embargo: bool, resend: bool,
         retry_unknown: bool, rate: float | None, new_ledger: bool, correction: bool, withdrawal: bool,
         takedown: str | None) -> None:
    """Send release ID to the subscribers (or the --to list), one message each; exit 0 all sent, 75 deferred, 1 failed.

    With --correction, --withdrawal or --takedown the recipients come from the ledger: exactly those
    who received the release (no --to needed)."""
    from .progress import progress_display
    from .send import SendDeferred, SendOptions, format_summary, send_release

    kinds = [k for k, on in (("correction", correction), ("withdrawal", withdrawal), ("takedown", bool(takedown))) if on]
    if len(kinds) > 1:
        raise click.UsageError("give one of --correction, --withdrawal and --takedown")
    options = SendOptions(dry_run, embargo, resend, retry_unknown, rate, new_ledger)
    try:
        with progress_display() as progress:
            if kinds:
                from .send import send_followup

                report = send_followup(site, release_id, kinds[0], parse_now(now), options, takedown or "",
                                       progress=progress)
            else:
                from .subscriptions.audience import open_audience

                shown = str(to) if to else "the subscribers"
                report = send_release(site, release_id, to, shown, parse_now(now), options, progress=progress,
                                      audience=open_audience)
    except BuildFailed as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        count = sum(1 for e in exc.errors if not e.warning)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found; nothing was sent.", err=True)
        sys.exit(1)
    except SendDeferred as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(75)
    for warning in report.warnings:
        click.echo(str(warning), err=True)
    for line in format_summary(report, "the ledger" if kinds else str(to) if to else "the subscribers"):
        click.echo(line)
    sys.exit(0 if dry_run else report.exit_code)


@click.command()
@click.argument("release_id", metavar="ID")
@site_option
@click.option("--report", is_flag=True, help="Per recipient: when the server accepted it, Message-ID, state, spread.")
@click.option("--format", "fmt", type=click.Choice(["md", "csv"]), default="md", show_default=True,
              help="Format of --report.")
def status(release_id: str, site: Path, report: bool, fmt: str) -> None:
    """Print what the ledger knows of sending release ID: counts, failures, unknown and deferred recipients."""
    from .ledger import read_ledger
    from .send import format_status

    ledger = read_ledger(site)
    try:
        if report:
            click.echo(_sending_report(site, ledger, release_id, fmt), nl=False)
            return
        for line in format_status(ledger, release_id):
            click.echo(line)
    finally:
        if ledger:
            ledger.close()


@click.command()
@site_option
@now_option
def publish(site: Path, now: str | None) -> None:
    """Build, then send each newly public release to the subscribers, exactly once (for cron/systemd)."""
    from .send import format_summary
    from .subscriptions.publish import publish as run_publish

    report = run_publish(site, parse_now(now))
    for release_id, decision in sorted(report.decided.items()):
        if decision != "send":
            click.echo(f"{release_id}: not sent automatically ({decision}).")
    for sent in report.sends:
        for line in format_summary(sent, "the subscribers"):
            click.echo(line)
    if not report.sends:
        click.echo("Built; nothing new to send.")
    sys.exit(report.exit_code)


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path), metavar="FILE|DIR...")
@site_option
@now_option
def bounces(sources: tuple[Path, ...], site: Path, now: str | None) -> None:
    """Read delivery status notifications (Maildir, mbox, .eml): hard bounces are marked failed and suppressed."""
    from .bounces import apply_bounces, format_bounces, read_messages
    from .ledger import open_ledger
    from .send import load_site_config

    config = load_site_config(site)
    messages = list(read_messages(sources, site))  # all read before the ledger or the list changes
    ledger = open_ledger(site)
    try:
        report = apply_bounces(config, ledger, messages, parse_now(now))
    finally:
        ledger.close()
    for line in format_bounces(report):
        click.echo(line)


def _sending_report(site: Path, ledger: Ledger | None, release_id: str, fmt: str) -> str:
    """`status --report`: the document of who received the release when."""
    from .report import format_csv, format_markdown, sending_report
    from .send import find_release, load_site_config

    config = load_site_config(site)
    embargo = find_release(config, release_id).embargo
    found = sending_report(ledger, release_id, embargo) if ledger else None
    if found is None:
        raise PressekitError(f"no sending of {release_id} is recorded")
    tz = config.site.tz
    return format_csv(found, tz) if fmt == "csv" else format_markdown(found, tz, embargo)
