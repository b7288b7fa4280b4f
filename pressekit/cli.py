"""The `pressekit` command: parse options, call the pipeline, turn errors into messages and exit codes."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from . import __version__
from .errors import BuildFailed, PressekitError


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
    from .scaffold_site import create_site

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
def build(site: Path, now: str | None, output: Path | None, jobs: int | None, stats: bool) -> None:
    """Build the site into output/ (replaced only when everything succeeded)."""
    from .build import build_site
    from .progress import progress_display

    with progress_display() as progress:
        report = build_site(site, output or site / "output", parse_now(now), jobs=jobs, progress=progress)
    click.echo(f"Built {report.published} of {report.releases} releases into {output or site / 'output'} "
               f"({report.files_written} files written, {report.files_unchanged} unchanged).")
    if stats:
        click.echo(f"pages rendered: {report.pages}")
        click.echo(f"variants made: {report.variants_made}, reused: {report.variants_reused}")
        for stage, seconds in report.seconds.items():
            click.echo(f"{stage}: {seconds:.3f} s")


@main.command()
@site_option
@now_option
def check(site: Path, now: str | None) -> None:
    """Validate pressekit.toml and every release; print every problem; exit 1 on errors."""
    from .releases import load_site

    _, releases = load_site(site)
    click.echo(f"{len(releases)} releases checked, no problems found.")


if __name__ == "__main__":  # pragma: no cover
    main()
