"""DKIM: `pressekit dkim-keygen`, the [dkim] key checks, and every sent message verified with dkimpy."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import dkim
import pytest
from click.testing import CliRunner

from pressekit.cli import main
from sitekit import CONFIG, SIMPLE, write_site
from smtp_server import FaultyHandler, smtp_server

RID = "2025-03-04-radweg"
NOW = "2025-04-01T10:00:00+02:00"
SEND = '''
[send]
rate = 0
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"
unsubscribe_url = "https://presse.beispielheim.example/abmelden"
'''


def keygen(key: Path) -> str:
    """Run dkim-keygen; return the TXT value it prints (the zone-file strings joined)."""
    result = CliRunner().invoke(main, ["dkim-keygen", "--selector", "presse2026", "--domain", "beispielheim.example",
                                       "--key-file", str(key)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Private key written to {key} (readable only by you)."
    assert lines[1] == "Publish this DNS TXT record for presse2026._domainkey.beispielheim.example:"
    zone = lines[3]
    assert zone.startswith('presse2026._domainkey.beispielheim.example. IN TXT ( "v=DKIM1; k=rsa; p=')
    assert lines[-4:] == ["[dkim]", 'domain = "beispielheim.example"', 'selector = "presse2026"',
                          f'key_file = "{key.resolve()}"']
    assert key.stat().st_mode & 0o777 == 0o600
    return "".join(re.findall(r'"([^"]*)"', zone.split("TXT", 1)[1]))


def dkim_table(key: Path | None = None, env: str | None = None) -> str:
    source = f'key_file = "{key}"' if key else f'key_env = "{env}"'
    return f'\n[dkim]\ndomain = "beispielheim.example"\nselector = "presse2026"\n{source}\n'


def site(root: Path, port: int, table: str) -> Path:
    write_site(root, {RID: SIMPLE}, CONFIG + SEND + table
               + f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 2\n')
    (root / "editors.csv").write_text("email,name\n" + "".join(f"r{i}@example.org,Redaktion {i}\n" for i in range(4))
                                      + "redaktion@straße.de,Straße\n", encoding="utf-8")
    return root


def verify(message: bytes, record: str) -> bool:
    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"presse2026._domainkey.beispielheim.example."
        return record.encode("ascii")
    return bool(dkim.verify(message, dnsfunc=dns))


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSEKIT_UNSUBSCRIBE_SECRET", "geheimnis-" * 4)


def test_every_sent_message_verifies_against_the_generated_key(tmp_path: Path) -> None:
    record = keygen(tmp_path / "dkim.key")
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        root = site(tmp_path / "site", controller.port, dkim_table(tmp_path / "dkim.key"))
        with contextlib.chdir(root):
            result = CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", NOW])
    assert result.exit_code == 0, result.output
    assert len(handler.received) == 5
    for got in handler.received:  # as the server has it: dot-stuffed by smtplib, un-stuffed by the server
        assert verify(got.data, record), got.rcpt_tos
        tags = dict(t.strip().split("=", 1) for t in got.message["DKIM-Signature"].replace("\r\n", "").split(";") if t.strip())
        assert tags["c"] == "relaxed/relaxed" and tags["d"] == "beispielheim.example" and tags["s"] == "presse2026"
        signed = tags["h"].replace(" ", "").split(":")
        for name in ("from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe",
                     "list-unsubscribe-post", "mime-version", "content-type"):
            assert name in signed
        # a relay adding a trace header leaves it valid; a changed one-click header does not
        assert verify(b"Received: from relay.example by mx.example; Tue, 1 Apr 2025 10:00:00 +0200\r\n" + got.data,
                      record)
        assert not verify(got.data.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=One-Clock"), record)


def test_key_from_the_environment_signs_the_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = keygen(tmp_path / "dkim.key")
    monkeypatch.setenv("PK_DKIM", (tmp_path / "dkim.key").read_text())
    root = site(tmp_path / "site", 25, dkim_table(env="PK_DKIM"))
    with contextlib.chdir(root):
        result = CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", NOW, "--dry-run"])
    assert result.exit_code == 0, result.output
    outbox = sorted((root / ".pressekit" / "outbox" / RID).glob("*.eml"))
    assert len(outbox) == 5 and all(verify(p.read_bytes(), record) for p in outbox)
    check = CliRunner().invoke(main, ["check", "--site", str(root), "--now", NOW])
    assert check.exit_code == 0, check.output
    assert check.output.splitlines()[-1] == (
        "DKIM: the key for presse2026._domainkey.beispielheim.example is loaded; its DNS TXT record cannot be "
        "checked offline: compare it with the record dkim-keygen printed.")


@pytest.mark.parametrize("case", ["readable", "inside", "missing_env", "not_a_key", "both"])
def test_unusable_keys_are_errors_before_anything_is_sent(tmp_path: Path, case: str) -> None:
    key = tmp_path / "dkim.key"
    keygen(key)
    table = dkim_table(key)
    if case == "readable":
        key.chmod(0o644)
        expected = f"[dkim] key_file {key} can be read by others (mode 644)\n  hint: chmod 600 {key}"
    elif case == "inside":
        table = dkim_table(Path("dkim.key"))
        expected = ("[dkim] key_file dkim.key lies inside the site; a private key must not be published or committed\n"
                    "  hint: move it, e.g. to /etc/pressekit/dkim.key, and chmod 600 it")
    elif case == "missing_env":
        table = dkim_table(env="PK_NOT_SET")
        expected = "[dkim] key_env names PK_NOT_SET, but that environment variable is not set"
    elif case == "not_a_key":
        key.write_text("kein Schlüssel\n")
        expected = (f"[dkim] key_file {key} is not an unencrypted PEM private key\n"
                    "  hint: pressekit dkim-keygen writes one; a key starts with -----BEGIN PRIVATE KEY-----")
    else:
        table = dkim_table(key) + 'key_env = "PK_DKIM"\n'
        expected = ("[dkim] needs exactly one of key_file and key_env\n  hint: key_file: a key outside the site, "
                    "readable only by you; key_env: the name of a variable holding it")
    handler = FaultyHandler()
    with smtp_server(handler) as controller:
        root = site(tmp_path / "site", controller.port, table)
        if case == "inside":
            (root / "dkim.key").write_bytes(key.read_bytes())
            (root / "dkim.key").chmod(0o600)
        before = sorted(p.relative_to(root) for p in root.rglob("*"))
        with contextlib.chdir(root):
            result = CliRunner().invoke(main, ["send", RID, "--to", "editors.csv", "--now", NOW])
        check = CliRunner().invoke(main, ["check", "--site", str(root), "--now", NOW])
    line = (CONFIG + SEND).count("\n") + 2
    assert result.exit_code == 1
    assert result.stderr == f"pressekit.toml:{line}: {expected}\n1 problem found; nothing was sent.\n"
    assert handler.received == []
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert check.exit_code == 1
    assert f"pressekit.toml:{line}: error: {expected.splitlines()[0]}" in check.output
