"""`pressekit send` without `--to` reaches the subscribers; `pressekit publish` mails new releases exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from pressekit.service import create_app
from sitekit import SIMPLE, write_release, write_site
from smtp_server import FaultyHandler, Received, smtp_server
from subskit import FakeClock, write_subs_site

NOW = "2026-11-25T12:00:00+01:00"
RID = "2025-03-04-radweg"          # tags Verkehr, Umwelt
ALL = "alle@zeitung.example"
TRAFFIC = "verkehr@zeitung.example"
OFFICE = "verwaltung@zeitung.example"


@pytest.fixture
def handler() -> FaultyHandler:
    return FaultyHandler()


@pytest.fixture
def root(tmp_path: Path, handler: FaultyHandler) -> Iterator[Path]:
    with smtp_server(handler) as controller:
        site = write_subs_site(tmp_path / "site", controller.port)
        people = tmp_path / "people.csv"
        people.write_text(f"email,name,topics\n{ALL},Alle,\n{TRAFFIC},Verkehr,Verkehr\n{OFFICE},,Verwaltung\n",
                          encoding="utf-8")
        assert cli(site, "subscribers", "import", str(people), "--confirmed-by", "Liste 2024")[0] == 0
        yield site


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--site", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_send_without_to_reaches_subscribers_whose_topics_meet_the_tags(root: Path, handler: FaultyHandler) -> None:
    code, out, err = cli(root, "send", RID, "--now", NOW)
    assert (code, err) == (0, "")
    assert out == f"{RID}: sent 2, skipped 1 (1 other tags), deferred 0, failed 0, unknown 0.\n"
    assert sorted(handler.counts()) == [ALL, TRAFFIC]
    message = next(r for r in handler.received if r.rcpt_tos == (TRAFFIC,)).message
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://presse.beispielheim.example/abo/abmelden/")
    assert unsubscribe.endswith(", <mailto:presse@beispielheim.example?subject=Abmelden>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    leave = unsubscribe.split(">")[0].lstrip("<")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.endswith(f"Sie erhalten diese Pressemitteilung, weil Sie sie abonniert haben. Themen ändern: "
                         f"https://presse.beispielheim.example/abo/einstellungen/{leave.rsplit('/', 1)[1]} · "
                         f"Abmelden: {leave}\n")
    assert f'<a href="{leave}">Abmelden</a></p>' in html

    client = create_app(root, clock=FakeClock()).test_client(use_cookies=False)
    response = client.post(urlsplit(leave).path, data="List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert cli(root, "send", RID, "--now", NOW, "--resend")[1] == \
        f"{RID} (round 2): sent 1, skipped 1 (1 other tags), deferred 0, failed 0, unknown 0.\n"
    assert handler.counts()[TRAFFIC] == 1 and handler.counts()[ALL] == 2


def test_a_subscriber_who_leaves_during_a_send_receives_nothing_after(root: Path, handler: FaultyHandler) -> None:
    def leave(got: Received) -> None:
        if len(handler.received) == 1:
            other = TRAFFIC if got.rcpt_tos == (ALL,) else ALL
            assert cli(root, "subscribers", "unsubscribe", other)[0] == 0

    handler.on_message = leave
    code, out, _ = cli(root, "send", RID, "--now", NOW)
    assert code == 0
    assert len(handler.received) == 1
    assert out.splitlines()[1] == "1 subscriber left during the run: not sent."


NO_SERVICE = ('Error: pressekit.toml: [subscriptions] url is not set; it is the public address of the subscription '
              'service, e.g. url = "https://presse.example.de/abo/"\n')


@pytest.mark.parametrize("release_id, text, expected", [
    (RID, SIMPLE, NO_SERVICE),
    # the release is checked before the subscribers are opened: its own error comes first
    (RID, SIMPLE.replace("tags:", "draft: true\ntags:"),
     f"Error: {RID} is a draft (draft: true); drafts are never sent\n"),
    ("2025-03-04-radwge", SIMPLE, f"Error: no release with the id '2025-03-04-radwge'\n"
                                  f"  hint: did you mean '{RID}'?\n"),
], ids=["no-service", "draft", "unknown-id"])
def test_send_without_to_on_a_site_without_subscriptions_names_what_is_missing_and_changes_nothing(
        tmp_path: Path, release_id: str, text: str, expected: str) -> None:
    site = write_site(tmp_path / "site", {RID: text})
    before = {p: p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}
    assert cli(site, "send", release_id, "--now", NOW) == (1, "", expected)
    assert {p: p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()} == before


# --- publish ------------------------------------------------------------------------------------

NEW = '''\
---
title: Kreistag beschließt neuen Radweg-Plan
date: 2026-11-25T10:00:00+01:00
tags: [Verkehr]
---
Der Kreistag hat den Plan beschlossen.
'''


def test_publish_sends_each_new_release_exactly_once(root: Path, handler: FaultyHandler) -> None:
    code, out, _ = cli(root, "publish", "--now", NOW)
    assert code == 0
    assert out == (f"2025-03-04-radweg: not sent automatically (archive).\n"
                   f"2025-03-05-oeffnungszeiten: not sent automatically (archive).\nBuilt; nothing new to send.\n")
    assert (root / "output" / "index.html").exists() and not handler.received
    write_release(root, "2026-11-25-radweg-plan", NEW)
    write_release(root, "2026-11-25-intern", NEW.replace("tags: [Verkehr]", "send: false"))
    write_release(root, "2026-11-20-alt", NEW.replace("2026-11-25T10", "2026-11-20T10"))
    code, out, _ = cli(root, "publish", "--now", NOW)
    assert code == 0
    assert out.splitlines() == ["2026-11-20-alt: not sent automatically (too old).",
                                "2026-11-25-intern: not sent automatically (send: false).",
                                "2026-11-25-radweg-plan: sent 2, skipped 1 (1 other tags), deferred 0, failed 0, "
                                "unknown 0."]
    for _ in range(2):
        assert cli(root, "publish", "--now", NOW) == (0, "Built; nothing new to send.\n", "")
    assert handler.counts() == {ALL: 1, TRAFFIC: 1}


def test_publish_killed_mid_send_completes_once_on_the_next_run(root: Path, handler: FaultyHandler) -> None:
    cli(root, "publish", "--now", NOW)
    write_release(root, "2026-11-25-radweg-plan", NEW)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "pressekit.cli", "publish", "--now", NOW, "--site", str(root)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    handler.on_message = lambda got: proc.send_signal(signal.SIGKILL) if len(handler.received) == 1 else None
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert len(handler.received) == 1
    handler.on_message = None
    code, out, err = cli(root, "publish", "--now", NOW)
    assert code in (0, 1), err     # 1 when the killed message is `unknown`: a person decides
    assert handler.counts() == {ALL: 1, TRAFFIC: 1} or "unknown 1" in out
    assert max(handler.counts().values()) == 1
    assert cli(root, "publish", "--now", NOW)[0] in (0, 1)
    assert max(handler.counts().values()) == 1
