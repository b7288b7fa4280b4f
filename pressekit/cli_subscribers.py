"""The subscription commands: `service` and the office's `subscribers` group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_common import PressekitGroup, now_option, parse_now, site_option

if TYPE_CHECKING:
    from .subscriptions.site import ServiceSite
    from .subscriptions.store import Store


@click.command()
@site_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="0: any free port.")
def service(site: Path, host: str, port: int) -> None:
    """Run the subscription service ([subscriptions] url) with waitress; Ctrl+C stops it."""
    from .subscriptions.run import run_service

    run_service(site, host, port, log=click.echo)


@click.group(cls=PressekitGroup)
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
