"""Input that used to crash or stall the build: deep nesting, unclosed tags, odd line breaks, symlinks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sitekit import write_release, write_site

HEAD = "---\ntitle: Test\ndate: 2025-03-04\n---\n"
NESTING = ("lists and quotes are nested {depth} levels deep here; the limit is 20\n"
           "  hint: flatten the list: deeper levels cannot be read in an e-mail or feed either")


def run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, bounded: a quadratic or runaway render fails the test instead of hanging."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    result = subprocess.run([sys.executable, "-m", "pressekit.cli", *args, "--site", str(site)], capture_output=True,
                            text=True, timeout=60, env=env)
    # `check` reports on stdout, the other commands on stderr: the tests read both.
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout, result.stdout + result.stderr)


def kind(command: list[str]) -> str:
    """`check` says what each problem is; the other commands only print errors."""
    return "error: " if command == ["check"] else ""


LOCK = Path(".pressekit/build.lock")


def snapshot(root: Path) -> dict[str, bytes]:
    """The site's files; the build lock (an empty file a build may leave behind) is not a change."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.relative_to(root) != LOCK}


@pytest.mark.parametrize(("body", "line", "message"), [
    ("- " * 5000 + "x\n", 5, NESTING.format(depth=5000)),
    ("Text\n\n" + "".join("    " * i + "- Punkt\n" for i in range(300)), 27, NESTING.format(depth=21)),
    ("Text\n\n" + "> " * 40 + "Zitat\n", 7, NESTING.format(depth=40)),
    ("*" * 5000 + "a" + "*" * 5000 + "\n", 5,
     "this paragraph has 10,000 '*' and '_' characters; the limit is 500\n"
     "  hint: emphasis this deep cannot be rendered; write \\* for a literal '*'"),
    ("Absatz\n\n" + "<a b" * 49000 + "\n", 7,
     "the body has 49,000 '<' that open an HTML tag without a closing '>'; the limit is 20\n"
     "  hint: write \\< for a '<' that does not start a tag"),
])
@pytest.mark.parametrize("command", [["build", "--now", "2025-06-01T00:00:00+02:00"], ["check"], ["email", "x"]])
def test_pathological_markdown_is_a_located_error(tmp_path: Path, body: str, line: int, message: str,
                                                  command: list[str]) -> None:
    site = write_site(tmp_path / "site")
    (site / "releases" / "x").mkdir()
    (site / "releases" / "x" / "index.md").write_text(HEAD + body, encoding="utf-8")
    before = snapshot(site)
    result = run(site, *command)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"releases/x/index.md:{line}: {kind(command)}{message}\n" in result.stderr
    assert snapshot(site) == before


def test_twenty_levels_render(tmp_path: Path) -> None:
    body = "".join("    " * i + "- Punkt *betont*\n" for i in range(20))
    site = write_site(tmp_path / "site")
    write_release(site, "x", HEAD + body)
    result = run(site, "email", "x")
    assert result.returncode == 0, result.stderr
    assert "Punkt betont" in result.stdout


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
@pytest.mark.parametrize("command", [["build"], ["check"]])
def test_unicode_line_break_in_title_is_reported_at_the_title(tmp_path: Path, char: str, command: list[str]) -> None:
    site = write_site(tmp_path / "site")
    (site / "releases" / "x").mkdir()
    (site / "releases" / "x" / "index.md").write_text(
        f"---\ndate: 2025-03-04\ntitle: Erste Zeile{char}zweite\nsummary: Kurz\n---\nText\n", encoding="utf-8")
    result = run(site, *command)
    assert result.returncode == 1
    assert result.stderr.count("releases/x/index.md:") == 1
    assert (
        f"releases/x/index.md:3: {kind(command)}title: contains the invisible line break U+{ord(char):04X}; expected a single line\n"
        "  hint: delete the character (it comes from pasting out of Word or a PDF)\n") in result.stderr


def test_heading_warning_lines_count_only_newlines(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site")
    write_release(site, "x", HEAD + "Ein\u2028Satz.\n\n#### Tief\n")
    result = run(site, "check")
    assert "releases/x/index.md:7: warning: heading 'Tief' skips a level: h4 follows the title (h1)\n" in result.stderr


@pytest.mark.parametrize("command", [["build"], ["check"]])
def test_symlinked_release_folder_outside_the_site_is_an_error(tmp_path: Path, command: list[str]) -> None:
    site = write_site(tmp_path / "site")
    outside = write_release(tmp_path / "elsewhere", "foo", HEAD + "Text\n")
    (site / "releases" / "foo").symlink_to(outside, target_is_directory=True)
    before = snapshot(site)
    result = run(site, *command)
    assert result.returncode == 1
    assert (
        f"releases/foo: {kind(command)}a symlink to a folder outside the site; releases must be real folders inside the site\n"
        "  hint: move or copy the folder into releases/ instead of linking it\n") in result.stderr
    assert snapshot(site) == before


@pytest.mark.parametrize("command", [["build"], ["check"], ["email", "x"]])
def test_index_md_linked_from_outside_is_refused(tmp_path: Path, command: list[str]) -> None:
    site = write_site(tmp_path / "site")
    secret = tmp_path / "secret.md"
    secret.write_text(HEAD + "Vertraulich\n", encoding="utf-8")
    (site / "releases" / "x").mkdir()
    (site / "releases" / "x" / "index.md").symlink_to(secret)
    result = run(site, *command)
    assert result.returncode == 1
    assert (
        f"releases/x/index.md:1: {kind(command)}index.md is a link that leads outside the release folder\n"
        "  hint: copy the file into the release folder instead of linking it\n") in result.stderr
    assert not (site / "output" / "x").exists()


@pytest.mark.parametrize("command", [["build"], ["check"], ["timeline", "--cron"]])
def test_a_value_quoted_in_an_error_cannot_start_a_line_of_its_own(tmp_path: Path, command: list[str]) -> None:
    # a quoted value keeps its line break escaped: each problem is one `path:line:` line, and nothing the
    # input says can look like a line of pressekit's own, on the terminal or in a captured log
    site = write_site(tmp_path / "site")
    event = 'event:\n  start: "2025-04-09T11:30:00+02:00\\n* * * * * touch pwned"\n  location: Kreishaus\n'
    write_release(site, "x", HEAD.replace("date: 2025-03-04\n", "date: 2025-03-04\n" + event) + "Text\n")
    before = snapshot(site)
    result = run(site, *command)
    assert result.returncode == 1
    if command != ["check"]:  # check reports on stdout; the others print nothing there, cron lines least of all
        assert result.stdout == ""
    assert (f"releases/x/index.md:5: {kind(command)}event.start: '2025-04-09T11:30:00+02:00\\n* * * * * touch pwned' "
            "is not a date and time with offset\n") in result.stderr
    assert not any(line.startswith("*") for line in result.stderr.splitlines())
    assert snapshot(site) == before


@pytest.mark.parametrize("command", [["build"], ["email", "x"], ["timeline", "--cron"]])
def test_a_now_with_a_line_break_is_refused_on_one_line(tmp_path: Path, command: list[str]) -> None:
    site = write_site(tmp_path / "site")
    write_release(site, "x", HEAD + "Text\n")
    result = run(site, *command, "--now", "2025-04-09T11:30:00+02:00\n* * * * * touch pwned")
    assert result.returncode == 2 and result.stdout == ""
    assert ("'2025-04-09T11:30:00+02:00\\n* * * * * touch pwned' is not an ISO 8601 date-time" in result.stderr)
    assert not any(line.startswith("*") for line in result.stderr.splitlines())
