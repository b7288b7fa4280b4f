"""Helpers for the subscription tests: a site with [subscriptions], a fake clock, links read from mails."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sitekit import CONFIG, SIMPLE, write_site

NOW = datetime(2026, 11, 25, 12, tzinfo=ZoneInfo("Europe/Berlin"))
OTHER = '''\
---
title: Neue Öffnungszeiten im Kreishaus
date: 2025-03-05
tags: [Verwaltung]
---
Das Kreishaus öffnet ab März früher.
'''


def subs_config(port: int, url: str = "https://presse.beispielheim.example/abo/") -> str:
    return CONFIG + f'''
[subscriptions]
url = "{url}"

[send]
rate = 0
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"

[smtp]
host = "127.0.0.1"
port = {port}
timeout = 5
'''


def write_subs_site(root: Path, port: int, url: str = "https://presse.beispielheim.example/abo/") -> Path:
    return write_site(root, {"2025-03-04-radweg": SIMPLE, "2025-03-05-oeffnungszeiten": OTHER},
                      subs_config(port, url))


class FakeClock:
    """The service's clock, moved by the test."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def link(text: str, page: str) -> str:
    """The first link to `page` (bestaetigen, einstellungen, abmelden) in a text."""
    m = re.search(rf"https?://\S+?/{page}/\S+", text)
    assert m, f"no {page} link in {text!r}"
    return m.group(0)


def csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
