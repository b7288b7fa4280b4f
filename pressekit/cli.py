"""The `pressekit` command: parse options, call the pipeline, turn errors into messages and exit codes."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .errors import BuildFailed, PressekitError, SourceError

if TYPE_CHECKING:
    from .dkim import Signer
    from .ledger import Ledger
    from .subscriptions.site import ServiceSite
    from .subscriptions.store import Store


def parse_now(value: str | None) -> datetime:
    """The build clock: --now (ISO 8601 with offset) or the system clock."""
    if value is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO 8601 date-time, e.g. 2025-07-02T10:00:00+02:00")
    if now.tzinfo is None:
        raise click.BadParameter(f"'{value}' needs a time zone offset, e.g. +02:00")
    return now


def report_errors(exc: BuildFailed) -> None:
    """Print every problem of a failed run, grouped by file, and a count."""
    for error in exc.errors:
        click.echo(str(error), err=True)
    count = len(exc.errors)
    click.echo(f"{count} problem{'s' if count != 1 else ''} found; nothing was written.", err=True)


class PressekitGroup(click.Group):
    """Turns pressekit's errors into messages and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BuildFailed as exc:
            report_errors(exc)
            sys.exit(1)
        except PressekitError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


now_option = click.option("--now", "now", metavar="ISO", help="Use this time (ISO 8601 with offset) instead of the clock.")
site_option = click.option("--site", "site", type=click.Path(file_okay=False, path_type=Path), default=".",
                           show_default=True, help="The site folder (holding pressekit.toml).")


@click.group(cls=PressekitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pressekit")
def main() -> None:
    """pressekit: press releases in Markdown -> newsroom website, feeds, e-mail and credited photos."""


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Create a new site in DIRECTORY: pressekit.toml and one example release, ready to build."""
    from .scaffold import create_site

    for path in create_site(directory):
        click.echo(f"created {path}")
    click.echo(f"Next: cd {directory} && pressekit build")


@main.command()
@site_option
@now_option
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the site (default: output/ in the site folder).")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None, help="Worker processes (default: every core).")
@click.option("--stats", is_flag=True, help="Print what was rendered, reused and how long each stage took.")
@click.option("--no-wait", is_flag=True, help="Fail instead of waiting when another build of this site is running.")
def build(site: Path, now: str | None, output: Path | None, jobs: int | None, stats: bool, no_wait: bool) -> None:
    """Build the site into output/ (replaced only when everything succeeded)."""
    from .build import build_site
    from .progress import progress_display

    def waiting() -> None:
        click.echo("waiting for another build of this site…", err=True)

    with progress_display() as progress:
        report = build_site(site, output or site / "output", parse_now(now), jobs=jobs, progress=progress,
                            wait=not no_wait, on_wait=waiting)
    target = output or site / "output"
    if report.up_to_date:
        click.echo(f"Nothing changed since the last build: {target} is up to date ({report.files_unchanged} files).")
    else:
        click.echo(f"Built {report.published} of {report.releases} releases into {target} "
                   f"({report.files_written} files written, {report.files_unchanged} unchanged).")
    if stats:
        click.echo(f"pages rendered: {report.pages_rendered}, reused: {report.pages_reused}")
        click.echo(f"variants made: {report.variants_made}, reused: {report.variants_reused}")
        for stage, seconds in report.seconds.items():
            click.echo(f"{stage}: {seconds:.3f} s")


@main.command()
@site_option
@now_option
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True,
              help="json: a list of {path, line, severity, message, hint}.")
def check(site: Path, now: str | None, strict: bool, fmt: str) -> None:
    """Validate pressekit.toml, every release and photo, and warn about editorial problems; exit 1 on errors."""
    import json

    from .check import check_site

    count, problems = check_site(site, parse_now(now))
    signer, key_problems = _check_dkim(site)
    problems = sorted(problems + key_problems, key=lambda e: (e.path, e.line, e.warning))
    errors = sum(1 for p in problems if not p.warning)
    if fmt == "json":
        click.echo(json.dumps([{"path": p.path, "line": p.line, "severity": "warning" if p.warning else "error",
                                "message": p.message, "hint": p.hint} for p in problems], ensure_ascii=False, indent=2))
    else:
        _print_problems(problems, count)
        if signer:
            click.echo(f"DKIM: the key for {signer.record_name} is loaded; its DNS TXT record cannot be checked "
                       "offline: compare it with the record dkim-keygen printed.")
    if errors or (strict and problems):
        sys.exit(1)


def _check_dkim(site: Path) -> tuple[Signer | None, list[SourceError]]:
    """Load the [dkim] key as `send` would (None without [dkim] or with a broken config)."""
    from .config import load_config
    from .dkim import load_signer

    config, _ = load_config(site)
    return load_signer(config, os.environ) if config else (None, [])


@main.command("dkim-keygen")
@click.option("--selector", required=True, help="The DKIM selector, e.g. presse2026.")
@click.option("--domain", required=True, help="The signing domain, e.g. kreis-soest.de (that of [email] from).")
@click.option("--key-file", "key_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (mode 600); keep it outside the site.")
def dkim_keygen(selector: str, domain: str, key_file: Path) -> None:
    """Write a new DKIM key pair and print the DNS TXT record to publish and the [dkim] table to add."""
    from .addresses import ascii_domain
    from .dkim import generate_key, txt_zone_line

    try:
        ascii = ascii_domain(domain)
    except ValueError as exc:
        raise click.BadParameter(f"{domain!r} {exc}", param_hint="--domain")
    value = generate_key(key_file)
    click.echo(f"Private key written to {key_file} (readable only by you).")
    click.echo(f"Publish this DNS TXT record for {selector}._domainkey.{ascii}:\n")
    click.echo(txt_zone_line(selector, ascii, value))
    click.echo(f"\nThen add to pressekit.toml:\n\n[dkim]\ndomain = \"{ascii}\"\nselector = \"{selector}\"\n"
               f"key_file = \"{key_file.resolve()}\"")


def _print_problems(problems: list[SourceError], count: int) -> None:
    """Human output of `check`: grouped by file, coloured on a terminal."""
    color = sys.stdout.isatty() and not os.environ.get("CI") and not os.environ.get("NO_COLOR")
    style = click.style if color else (lambda text, **_: text)
    path = None
    for p in problems:
        if path is not None and p.path != path:
            click.echo()
        path = p.path
        kind = style("warning:", fg="yellow", bold=True) if p.warning else style("error:", fg="red", bold=True)
        where = f"{p.path}:{p.line}:" if p.line else f"{p.path}:"  # line 0: a folder, not a line of a file
        click.echo(f"{style(where, bold=True)} {kind} {p.message}")
        if p.hint:
            click.echo(f"  {style('hint:', fg='cyan')} {p.hint}")
    errors = sum(1 for p in problems if not p.warning)
    warnings = len(problems) - errors
    if not problems:
        click.echo(f"{count} release{'s' if count != 1 else ''} checked, no problems found.")
        return
    click.echo(f"\n{count} release{'s' if count != 1 else ''} checked: "
               f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}.")


@main.command()
@click.argument("title")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="Meldungsdatum and folder date (default: today in the site's time zone).")
@site_option
def new(title: str, day: datetime | None, site: Path) -> None:
    """Create releases/<date>-<slug>/index.md for TITLE, with every field to fill in."""
    from .scaffold import new_release

    path = new_release(site, title, day.date() if day else None, now=parse_now(None))
    click.echo(path)


@main.command()
@site_option
@now_option
@click.option("--cron", "schedule", flag_value="cron", help="Print crontab lines that build when releases go live.")
@click.option("--systemd", "schedule", flag_value="systemd", help="Print a systemd timer that does the same.")
def timeline(site: Path, now: str | None, schedule: str | None) -> None:
    """List what goes live when: embargoed and future-dated releases, and drafts."""
    from .releases import load_site
    from .timeline import cron_lines, format_timeline, plan_timeline, systemd_timer

    config, releases = load_site(site)
    plan = plan_timeline(releases, parse_now(now))
    if schedule == "cron":
        click.echo(cron_lines(plan, config, site.resolve()), nl=False)
    elif schedule == "systemd":
        click.echo(systemd_timer(plan, config, site.resolve()), nl=False)
    else:
        click.echo(format_timeline(plan, config), nl=False)


@main.command()
@site_option
@now_option
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free port.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback shows drafts to the network.")
def serve(site: Path, now: str | None, port: int, host: str) -> None:
    """Build a preview (drafts and embargoed releases included), serve it and reload on every change."""
    from .serve import PreviewServer, is_loopback

    fixed = parse_now(now) if now else None
    if not is_loopback(host):
        click.echo(f"Warning: listening on {host}: drafts and embargoed releases are visible to others.", err=True)
    server = PreviewServer(site, host, port, clock=lambda: fixed or parse_now(None), log=click.echo)
    server.start()
    click.echo(f"Vorschau auf {server.url} (Entwürfe und Sperrfristen mit Banner). Beenden mit Strg+C.")
    try:
        server.wait()
    except KeyboardInterrupt:
        click.echo("Vorschau beendet.")
    finally:
        server.stop()


@main.command()
@click.argument("release_id", metavar="ID")
@site_option
@click.option("--html", "fmt", flag_value="html", help="Print the HTML alternative instead.")
@click.option("--eml", "fmt", flag_value="eml", help="Print the complete MIME message instead.")
def email(release_id: str, site: Path, fmt: str | None) -> None:
    """Print the e-mail of release ID (plain text for a press service's web form), also before its embargo lifts."""
    from .mail import find_release, render_email
    from .markup import render_html
    from .paths import CACHE_DIR
    from .photos import make_variants
    from .validate import load_valid_site

    # the validation of `build`, with the photos and templates checked on this release (the time plays no part)
    config, releases = load_valid_site(site, parse_now(None), only=release_id)
    release = find_release(releases, release_id)
    if release.draft:
        click.echo(f"Note: {release_id} is a draft.", err=True)
    made = make_variants([release], config, site / CACHE_DIR)
    if made.errors:
        raise BuildFailed(made.errors)
    parts = render_email(release, config, made.variants, render_html(release.body),
                         variant_files={f.relpath: f.source for f in made.files if f.source is not None})
    if fmt == "eml":
        sys.stdout.buffer.write(parts.message)
    else:
        click.echo(parts.html if fmt == "html" else parts.text)


@main.command()
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
                shown = str(to) if to else "the subscribers"
                report = send_release(site, release_id, to, shown, parse_now(now), options, progress=progress)
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


@main.command()
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


@main.command()
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


@main.command()
@site_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="0: any free port.")
def service(site: Path, host: str, port: int) -> None:
    """Run the subscription service ([subscriptions] url) with waitress; Ctrl+C stops it."""
    from .subscriptions.run import run_service

    run_service(site, host, port, log=click.echo)


@main.group(cls=PressekitGroup)
def subscribers() -> None:
    """The office's view of the subscribers: list, import, export, show, forget, unsubscribe."""


def _office(site: Path) -> tuple[ServiceSite, Store]:
    from .subscriptions.site import load_service_site

    service_site = load_service_site(site)
    return service_site, service_site.open_store()


@subscribers.command("list")
@site_option
@click.option("--state", type=click.Choice(["pending", "confirmed", "unsubscribed", "bounced"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def subscribers_list(site: Path, state: str | None, fmt: str) -> None:
    """List the subscribers (csv/json columns: email, name, medium, state, topics, subscribed, confirmed)."""
    from .subscriptions.commands import format_subscribers

    _, store = _office(site)
    try:
        click.echo(format_subscribers(store.all(state), fmt), nl=False)
    finally:
        store.close()


@subscribers.command("export")
@site_option
def subscribers_export(site: Path) -> None:
    """Print every subscriber as CSV (the columns of `list --format csv`)."""
    from .subscriptions.commands import format_subscribers

    _, store = _office(site)
    try:
        click.echo(format_subscribers(store.all(), "csv"), nl=False)
    finally:
        store.close()


@subscribers.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@site_option
@now_option
@click.option("--confirmed-by", "confirmed_by", metavar="REASON", default=None,
              help="Import as confirmed, recording REASON as the office's evidence of consent (no mail).")
def subscribers_import(file: Path, site: Path, now: str | None, confirmed_by: str | None) -> None:
    """Import FILE.csv (email, name, medium, topics): pending with a confirmation mail each, unless --confirmed-by."""
    from .subscriptions.commands import import_subscribers

    if confirmed_by is not None and not confirmed_by.strip():
        raise click.BadParameter("give the reason, e.g. --confirmed-by \"Einwilligung per Fax 2024\"")
    service_site, store = _office(site)
    try:
        report = import_subscribers(service_site, store, file, str(file), confirmed_by, parse_now(now))
    finally:
        store.close()
    for warning in report.warnings:
        click.echo(str(warning), err=True)
    if confirmed_by:
        click.echo(f"Imported {report.confirmed} subscribers as confirmed.")
    else:
        click.echo(f"Imported {report.added} subscribers as pending: {report.mails_sent} confirmation mails sent"
                   + (f", {report.mails_owed} not sent yet (the service tries again)" if report.mails_owed else "")
                   + ".")


@subscribers.command("show")
@click.argument("address")
@site_option
def subscribers_show(address: str, site: Path) -> None:
    """Print everything stored about ADDRESS: data, consent, its trail and deliveries (Art. 15 DSGVO)."""
    from .subscriptions.commands import show_subscriber

    service_site, store = _office(site)
    try:
        click.echo(show_subscriber(service_site, store, address), nl=False)
    finally:
        store.close()


@subscribers.command("forget")
@click.argument("address")
@site_option
@now_option
def subscribers_forget(address: str, site: Path, now: str | None) -> None:
    """Erase ADDRESS from the store, the outbox and the ledger's clear text (Art. 17 DSGVO)."""
    from .subscriptions.commands import forget_subscriber

    service_site, store = _office(site)
    try:
        done = forget_subscriber(service_site, store, address, parse_now(now))
    finally:
        store.close()
    if not done:
        click.echo(f"Nothing stored about {address}; it is now blocked from a silent re-import.")
    for line in done:
        click.echo(f"{address}: {line}")


@subscribers.command("unsubscribe")
@click.argument("address")
@site_option
@now_option
def subscribers_unsubscribe(address: str, site: Path, now: str | None) -> None:
    """Unsubscribe ADDRESS on the office's word (recorded with channel 'office')."""
    from .subscriptions.commands import unsubscribe_subscriber

    _, store = _office(site)
    try:
        changed = unsubscribe_subscriber(store, address, parse_now(now))
    finally:
        store.close()
    click.echo(f"{address} is unsubscribed." if changed else f"{address} was already unsubscribed.")


@main.command()
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


if __name__ == "__main__":  # pragma: no cover
    main()
