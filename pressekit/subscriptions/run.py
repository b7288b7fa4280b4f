"""`pressekit service`: the app on waitress, with owed confirmation mails retried in the background."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from ..errors import PressekitError
from .mailer import send_owed_mails
from .service import create_app
from .site import load_service_site
from .store import StoreError

RETRY_SECONDS = 60.0


def run_service(root: Path, host: str, port: int, log: Callable[[str], None]) -> None:
    """Serve until interrupted; a confirmation mail the SMTP server did not take is tried every minute."""
    from waitress import create_server  # type: ignore[import-untyped]  # waitress ships no type hints

    site = load_service_site(root)
    app = create_app(root)
    try:
        server = create_server(app, host=host, port=port, threads=8, max_request_body_size=64 * 1024,
                               ident="pressekit")
    except OSError as exc:
        raise PressekitError(f"cannot listen on {host}:{port}: {exc}") from exc
    stop = threading.Event()
    retry = threading.Thread(target=_retry_owed, args=(root, stop, log), daemon=True)
    retry.start()
    address = f"http://{host}:{server.effective_port}{site.prefix}/abonnieren"
    log(f"Abo-Dienst auf {address} (öffentlich: {site.url}abonnieren). Beenden mit Strg+C.")
    try:
        server.run()
    except KeyboardInterrupt:
        log("Abo-Dienst beendet.")
    finally:
        stop.set()
        server.close()


def _retry_owed(root: Path, stop: threading.Event, log: Callable[[str], None]) -> None:
    site = load_service_site(root)
    while not stop.wait(RETRY_SECONDS):
        now = datetime.now(timezone.utc).replace(microsecond=0)
        try:
            store = site.open_store()
            try:
                if sent := send_owed_mails(site, store, now):
                    log(f"{sent} Bestätigungs-E-Mail(s) nachgesendet.")
                store.erase_old_ips(now, site.config.subscriptions.keep_ip_days)
            finally:
                store.close()
        except StoreError as exc:
            log(f"Fehler: {exc}")
