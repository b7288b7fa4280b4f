"""`pressekit bounces`: RFC 3464 notifications from a Maildir, an mbox or .eml files into ledger and suppressions."""

from __future__ import annotations

import contextlib
import mailbox
from pathlib import Path

from click.testing import CliRunner

from pressekit.cli import main
from pressekit.ledger import read_ledger
from sitekit import CONFIG, SIMPLE, write_site
from smtp_server import FaultyHandler, smtp_server

RID = "2025-03-04-radweg"
NOW = "2025-04-01T10:00:00+02:00"
SAMPLES = Path(__file__).parent / "bounces"
SEND = '''
[send]
rate = 0
suppress = "abgemeldet.txt"
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"
'''


def sent_site(root: Path) -> dict[str, str]:
    """Send the release to r0..r4; return address -> Message-ID as the server got them."""
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        write_site(root, {RID: SIMPLE}, CONFIG + SEND + f'\n[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\n')
        (root / "abgemeldet.txt").write_text("# abgemeldet\nalt@example.org", encoding="utf-8")
        (root / "editors.csv").write_text("email,name\n" + "".join(f"r{i}@example.org,R{i}\n" for i in range(5)),
                                          encoding="utf-8")
        with contextlib.chdir(root):
            assert CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", NOW]).exit_code == 0
    return {got.rcpt_tos[0]: got.message["Message-ID"] for got in handler.received}


def sample(name: str, ids: dict[str, str]) -> bytes:
    data = (SAMPLES / name).read_bytes()
    for n in (1, 2):
        data = data.replace(f"MESSAGE_ID_R{n}".encode(), ids[f"r{n}@example.org"].encode())
    return data


def states(root: Path) -> dict[str, tuple[str, str]]:
    ledger = read_ledger(root)
    assert ledger is not None
    try:
        return {d.address: (d.state, d.reply) for d in ledger.deliveries(RID).values()}
    finally:
        ledger.close()


def test_maildir_and_mbox_from_postfix_and_exchange(tmp_path: Path) -> None:
    root = tmp_path / "site"
    ids = sent_site(root)
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(sample("postfix.eml", ids))
    maildir.add(sample("exchange.eml", ids))
    mbox = mailbox.mbox(tmp_path / "antworten.mbox", create=True)
    mbox.add(sample("delay.eml", ids))
    mbox.add(sample("abwesend.eml", ids))
    mbox.close()
    runner = CliRunner()
    args = ["bounces", str(tmp_path / "Maildir"), str(tmp_path / "antworten.mbox"), "--site", str(root), "--now", NOW]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "2 hard bounces (marked failed, suppressed), 1 soft, 1 not a delivery report."
    assert sorted(lines[1:3]) == [
        "  failed   R2@Example.org  bounce 5.1.10: 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found "
        f"by SMTP address lookup ({RID})",
        "  failed   r1@example.org  bounce 5.1.1: 550 5.1.1 <r1@example.org>: Recipient address rejected: User "
        f"unknown in local recipient table ({RID})"]
    assert lines[3] == ("  soft     r4@example.org  bounce 4.4.1: connect to mail.example.org[192.0.2.25]:25: "
                        "Connection timed out (delayed; not suppressed)")
    assert lines[4] == f"  unknown  {tmp_path}/antworten.mbox#2: Automatische Antwort: Kreis eroeffnet neuen Radweg"
    after = states(root)
    assert after["r1@example.org"][0] == after["r2@example.org"][0] == "failed"
    assert after["r1@example.org"][1].startswith("bounce 5.1.1: 550 5.1.1")
    assert {a: s for a, (s, _) in after.items() if s == "sent"} == {
        "r0@example.org": "sent", "r3@example.org": "sent", "r4@example.org": "sent"}
    suppressed = (root / "abgemeldet.txt").read_text("utf-8")
    assert suppressed in ("# abgemeldet\nalt@example.org\nr1@example.org\nR2@example.org\n",
                          "# abgemeldet\nalt@example.org\nR2@example.org\nr1@example.org\n")
    report = runner.invoke(main, ["status", RID, "--site", str(root), "--report", "--format", "csv"]).stdout
    [r1] = [line.split(",") for line in report.splitlines() if ",r1@example.org," in line]
    assert r1[4] == "failed" and r1[1] != ""  # the server's acceptance stays on record after the bounce
    # the same files again change nothing more
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and (root / "abgemeldet.txt").read_text("utf-8") == suppressed


def test_a_folder_of_eml_files_and_no_suppression_list(tmp_path: Path) -> None:
    root = tmp_path / "site"
    ids = sent_site(root)
    folder = tmp_path / "ndr"
    folder.mkdir()
    (folder / "1.eml").write_bytes(sample("postfix.eml", ids))
    (root / "pressekit.toml").write_text((root / "pressekit.toml").read_text("utf-8").replace(
        'suppress = "abgemeldet.txt"\n', ""), encoding="utf-8")
    ledger_before = (root / ".pressekit" / "ledger.sqlite").read_bytes()
    result = CliRunner().invoke(main, ["bounces", str(folder), "--site", str(root)])
    assert (result.exit_code, result.stderr) == (1, 'Error: hard bounces need a suppression list: set [send] suppress = '
                                                    '"abgemeldet.txt" in pressekit.toml; nothing was changed\n')
    assert states(root)["r1@example.org"][0] == "sent"
    assert (root / ".pressekit" / "ledger.sqlite").read_bytes() == ledger_before


def test_a_hard_bounce_sets_the_subscriber_bounced_and_send_leaves_it_out(tmp_path: Path) -> None:
    from subskit import subs_config

    root = tmp_path / "site"
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        write_site(root, {RID: SIMPLE}, subs_config(controller.port).replace(
            "[send]\n", '[send]\nsuppress = "abgemeldet.txt"\n'))
        (root / "abgemeldet.txt").write_text("# abgemeldet\n", encoding="utf-8")
        people = tmp_path / "people.csv"
        people.write_text("email,name,topics\n" + "".join(f"r{i}@example.org,R{i},\n" for i in range(3)),
                          encoding="utf-8")
        runner = CliRunner()
        site = ["--site", str(root)]
        assert runner.invoke(main, ["subscribers", "import", str(people), "--confirmed-by", "Liste", *site]).exit_code == 0
        assert runner.invoke(main, ["send", RID, "--now", NOW, *site]).exit_code == 0
        ids = {got.rcpt_tos[0]: got.message["Message-ID"] for got in handler.received}
        (tmp_path / "ndr.eml").write_bytes(sample("postfix.eml", ids))

        result = runner.invoke(main, ["bounces", str(tmp_path / "ndr.eml"), "--now", NOW, *site])
        reason = ("bounce 5.1.1: 550 5.1.1 <r1@example.org>: Recipient address rejected: User unknown in local "
                  "recipient table")
        assert (result.exit_code, result.stdout) == (0, (
            "1 hard bounce (marked failed, suppressed), 0 soft, 0 not a delivery report.\n"
            f"  failed   r1@example.org  {reason} ({RID})\n"
            "  bounced  r1@example.org  subscriber set to bounced; send leaves it out\n"))
        shown = runner.invoke(main, ["subscribers", "show", "r1@example.org", *site]).stdout.splitlines()
        assert "Status:       bounced" in shown
        trail = shown[shown.index("Verlauf:") + 1:]
        assert trail[trail.index("") - 1] == f"  2025-04-01T08:00:00+00:00  bounced  bounces  {reason}"
        listed = runner.invoke(main, ["subscribers", "list", "--state", "bounced", "--format", "csv", *site]).stdout
        assert [line.split(",")[0] for line in listed.splitlines()[1:]] == ["r1@example.org"]

        (root / "abgemeldet.txt").write_text("# leer\n", encoding="utf-8")  # the store alone keeps r1 out
        handler.received.clear()
        again = runner.invoke(main, ["send", RID, "--now", NOW, "--resend", *site])
        assert (again.exit_code, again.stdout) == (
            0, f"{RID} (round 2): sent 2, skipped 0, deferred 0, failed 0, unknown 0.\n")
        assert sorted(got.rcpt_tos[0] for got in handler.received) == ["r0@example.org", "r2@example.org"]
        # the same notification again changes nothing more
        assert runner.invoke(main, ["bounces", str(tmp_path / "ndr.eml"), "--now", NOW, *site]).stdout.count(
            "bounced  r1") == 0
