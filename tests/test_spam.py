"""SpamAssassin (Debian's `spamassassin`, local tests) scores a delivered message below 1.0."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from sitekit import CONFIG, write_photo, write_site
from smtp_server import FaultyHandler, smtp_server

RID = "2025-03-04-radweg"
RELEASE = '''\
---
title: Kreis eröffnet neuen Radweg zwischen Nordstadt und Südheim
subtitle: 4,2 Kilometer für den Alltagsradverkehr
date: 2025-03-04
photos:
  - file: radweg.jpg
    caption: Landrat Max Beispiel gibt den Radweg frei.
    credit: Jana Muster/ Landkreis Beispielheim
    alt: Ein Mann durchschneidet ein Band auf einem Radweg
---
Der neue Radweg ist 4,2 Kilometer lang und verbindet die beiden Orte. Er ist drei Meter breit,
beleuchtet und im Winter geräumt.

## Bauzeit und Kosten

Die Bauarbeiten dauerten „nur“ sechs Monate und kosteten 1,9 Millionen Euro, davon trug das Land 70 Prozent.
'''


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="Debian's spamassassin is not installed")
def test_spamassassin_scores_a_delivered_message_below_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSEKIT_UNSUBSCRIBE_SECRET", "geheimnis-" * 4)
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        root = write_site(tmp_path / "site", {RID: RELEASE}, CONFIG + '''
[send]
rate = 0
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"
unsubscribe_url = "https://presse.beispielheim.example/abmelden"
''' + f'\n[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\n')
        write_photo(root / "releases" / RID / "radweg.jpg", size=(900, 600))
        (root / "editors.csv").write_text("email,name\nredaktion@zeitung.example,Lokalredaktion\n", encoding="utf-8")
        with contextlib.chdir(root):
            result = CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", "2025-04-01T10:00:00+02:00"])
    assert result.exit_code == 0, result.output
    [got] = handler.received
    received = (f"Received: from mail.beispielheim.example (mail.beispielheim.example [192.0.2.10])\r\n"
                f"\tby mx.zeitung.example (Postfix) with ESMTPS id 4F1A2B3C4D\r\n"
                f"\tfor <redaktion@zeitung.example>; {format_datetime(datetime.now(timezone.utc))}\r\n").encode()
    run = subprocess.run(["spamassassin", "-L", "-t", "--cf", "dns_available no"], input=received + got.data,
                         capture_output=True, timeout=120)
    assert run.returncode in (0, 1), run.stderr.decode(errors="replace")
    status = re.search(rb"^X-Spam-Status: (Yes|No), score=(-?[0-9.]+).*?(?=\n\S)", run.stdout, re.M | re.S)
    assert status, run.stdout[:2000]
    score = float(status.group(2))
    assert score < 1.0, status.group(0).decode()
