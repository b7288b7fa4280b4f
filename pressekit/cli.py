"""The `pressekit` command: parse options, call the pipeline, turn errors into messages and exit codes."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .cli_common import PressekitGroup, now_option, parse_now, site_option
from .cli_send import bounces, publish, send, status
from .cli_subscribers import service, subscribers
from .errors import BuildFailed, PressekitError, SourceError

if TYPE_CHECKING:
    from .dkim import Signer


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
    from .config_file import load_config
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
        click.echo(f"{style(where, bold=True)} {kind} {p.shown_message}")
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
    from .preview_pages import is_loopback
    from .serve import PreviewServer

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
@now_option
@click.option("--html", "fmt", flag_value="html", help="Print the HTML alternative instead.")
@click.option("--eml", "fmt", flag_value="eml", help="Print the complete MIME message instead.")
def email(release_id: str, site: Path, now: str | None, fmt: str | None) -> None:
    """Print the e-mail of release ID as a build at that time writes it (plain text for a press service's web
    form: corrections made by then, expired photos gone), also before its embargo lifts."""
    from .dates import lift_time
    from .mail import find_release, render_email
    from .markup import render_html
    from .paths import CACHE_DIR
    from .photos import make_variants
    from .validate import load_valid_site

    moment = parse_now(now)
    # the validation of `build`, with the photos and templates checked on this release
    config, releases = load_valid_site(site, moment, only=release_id)
    found = find_release(releases, release_id)
    if found.withdrawn is not None and found.withdrawn.date <= moment:
        raise PressekitError(f"{release_id} was withdrawn on {lift_time(found.withdrawn.date, config.site.tz)}: "
                             "it has no e-mail any more, only its page saying so")
    release = found.at(moment)
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


for command in (send, status, publish, service, subscribers, bounces):
    main.add_command(command)


def run(prog_name: str = "pressekit") -> None:
    """The `pressekit` script: `main`, then leave without the interpreter freeing every object one by one.

    A build holds hundreds of thousands of objects (10,000 releases, the state) and freeing them took
    a tenth of a second after the work was done. Every command has closed its files, processes and
    connections when it returns, so nothing is lost by leaving at once.
    """
    try:
        main(prog_name=prog_name)
        status: object = 0
    except SystemExit as done:
        status = done.code
    if isinstance(status, str):  # sys.exit("message") prints the message and exits with 1
        print(status, file=sys.stderr)
    if "logging" in sys.modules:  # the subscription service logs: its handlers are flushed and closed
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that left early (`| head`)
            pass
    os._exit(status if isinstance(status, int) else 0 if status is None else 1)


if __name__ == "__main__":  # pragma: no cover
    run()
