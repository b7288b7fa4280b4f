"""What every command shares: the clock option, the site option, and errors turned into messages and exit 1."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from .errors import BuildFailed, PressekitError, escaped_breaks


def parse_now(value: str | None) -> datetime:
    """The build clock: --now (ISO 8601 with offset) or the system clock."""
    if value is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(escaped_breaks(f"'{value}' is not an ISO 8601 date-time, e.g. 2025-07-02T10:00:00+02:00"))
    if now.tzinfo is None:
        raise click.BadParameter(escaped_breaks(f"'{value}' needs a time zone offset, e.g. +02:00"))
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
