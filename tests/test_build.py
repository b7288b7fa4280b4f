"""`pressekit build` end to end on small sites: publication rules, determinism, atomic output, safety."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.build import build_site
from pressekit.cli import main
from pressekit.errors import BuildFailed
from sitekit import SIMPLE, write_photo, write_release, write_site

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))


def tree(folder: Path) -> dict[str, str]:
    """relpath -> sha256 of every file under folder."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8", "replace") for p in folder.rglob("*") if p.is_file() and p.suffix != ".jpg")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE})
    write_release(root, "2025-05-01-draft", "---\ntitle: Geheimer Entwurf\ndate: 2025-05-01\ndraft: true\n---\nEntwurfstext\n")
    write_release(root, "2025-07-01-zukunft", "---\ntitle: Zukunftsmeldung\ndate: 2025-07-01\n---\nZukunftstext\n")
    write_release(root, "2025-05-20-sperrfrist", "---\ntitle: Meldung mit Sperrfrist\ndate: 2025-05-20\n"
                  "embargo: 2025-06-01T14:00:00+02:00\ntags: [Sperre]\n---\nSperrfristtext\n")
    return root


def test_unpublished_releases_appear_nowhere(site: Path) -> None:
    out = site / "output"
    build_site(site, out, NOW)
    text = all_text(out)
    for secret in ("Geheimer Entwurf", "Entwurfstext", "2025-05-01-draft", "Zukunftsmeldung", "2025-07-01-zukunft",
                   "Meldung mit Sperrfrist", "Sperrfristtext", "2025-05-20-sperrfrist", "themen/sperre"):
        assert secret not in text
    assert not (out / "2025-05-01-draft").exists() and not (out / "themen" / "sperre").exists()
    assert (out / "2025-03-04-radweg" / "index.html").exists()


def test_embargo_lifts_with_now(site: Path) -> None:
    out = site / "output"
    build_site(site, out, NOW + timedelta(hours=2))
    page = (out / "2025-05-20-sperrfrist" / "index.html").read_text()
    assert "Meldung mit Sperrfrist" in page and "Sperrfrist: 01.06.2025, 14:00 Uhr" in page
    assert "2025-05-20-sperrfrist" in (out / "feed.xml").read_text()
    assert "Geheimer Entwurf" not in all_text(out)


def test_two_builds_give_identical_bytes(site: Path, tmp_path: Path) -> None:
    write_photo(site / "releases" / "2025-03-04-radweg" / "foto.jpg")
    index = site / "releases" / "2025-03-04-radweg" / "index.md"
    index.write_text(index.read_text().replace("tags:", "photos:\n  - file: foto.jpg\n    caption: Der Radweg.\n"
                                                "    credit: Jana Muster/ Landkreis\n    alt: Ein Radweg im Grünen\ntags:"))
    build_site(site, tmp_path / "a", NOW)
    build_site(site, tmp_path / "b", NOW)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert "2025-03-04-radweg/photos/foto-web.jpg" in tree(tmp_path / "a")


def test_failed_build_leaves_output_untouched(site: Path) -> None:
    out = site / "output"
    build_site(site, out, NOW)
    before = tree(out)
    write_release(site, "2025-05-02-kaputt", "---\ntitle: Kaputt\ndate: 2025-02-30\n---\nText\n")
    with pytest.raises(BuildFailed):
        build_site(site, out, NOW)
    assert tree(out) == before


def test_broken_photo_fails_before_output_is_touched(site: Path) -> None:
    out = site / "output"
    build_site(site, out, NOW)
    before = tree(out)
    folder = write_release(site, "2025-05-03-foto", "---\ntitle: Foto\ndate: 2025-05-03\nphotos:\n  - file: x.jpg\n"
                           "    caption: C\n    credit: K\n    alt: A\n---\nText\n")
    (folder / "x.jpg").write_bytes(b"this is not a picture")
    with pytest.raises(BuildFailed) as info:
        build_site(site, out, NOW)
    assert [e.line for e in info.value.errors] == [5]
    assert tree(out) == before


def test_deleted_release_vanishes(site: Path) -> None:
    out = site / "output"
    build_site(site, out, NOW)
    assert (out / "2025-03-04-radweg").is_dir()
    (site / "releases" / "2025-03-04-radweg" / "index.md").unlink()
    (site / "releases" / "2025-03-04-radweg").rmdir()
    build_site(site, out, NOW)
    assert not (out / "2025-03-04-radweg").exists()
    assert "2025-03-04-radweg" not in all_text(out)


def test_script_in_a_release_never_reaches_a_page(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", {"2025-03-04-xss": """\
        ---
        title: "<script>alert('titel')</script>"
        date: 2025-03-04
        ---
        Harmlos <script>alert('body')</script> und <img src=x onerror="alert('img')">.

        <a href="javascript:alert('link')">Klick</a> [Markdown](javascript:alert('md'))

        <div onmouseover="alert('div')">Text</div><iframe src="https://evil.example/"></iframe>
        """})
    out = root / "output"
    build_site(root, out, NOW)
    page = (out / "2025-03-04-xss" / "index.html").read_text()
    for bad in ("<script>alert", "onerror", "javascript:", "onmouseover", "<iframe"):
        assert bad not in page
    assert "&lt;script&gt;alert(&#39;titel&#39;)&lt;/script&gt;" in page
    assert "Harmlos" in page and "Klick" in page


def test_cli_build_and_check_on_a_real_site(site: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["build", "--site", str(site), "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Built 1 of 4 releases" in result.output
    assert (site / "output" / "index.html").exists()


def test_cli_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    write_release(root, "2025-01-01-a", "---\ntitle: A\ndate: 2025-13-01\n---\nT\n")
    write_release(root, "2025-01-02-b", "---\ndate: 2025-01-02\n---\nT\n")
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", NOW.isoformat()])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.splitlines() == [
        "releases/2025-01-01-a/index.md:3: date: '2025-13-01' is not a valid date (month must be in 1..12)",
        "  hint: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00",
        "releases/2025-01-02-b/index.md:1: title: is missing",
        "  hint: every release needs a title",
        "2 problems found; nothing was written.",
    ]
    assert not (root / "output").exists()


def test_init_then_build(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "neu")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["build", "--site", str(tmp_path / "neu"), "--now", "2026-11-25T12:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "neu" / "output" / "index.html").exists()
    again = runner.invoke(main, ["init", str(tmp_path / "neu")])
    assert again.exit_code == 1 and "exists already" in again.output


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.startswith("pressekit, version ")
    for command in main.commands:
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Usage: " in result.output, command


def test_output_is_never_written_outside(tmp_path: Path) -> None:
    from pressekit.output import OutputFile
    for bad in ("../x.html", "/etc/x", "a/../../x"):
        with pytest.raises(ValueError):
            OutputFile(bad, data=b"")


def test_no_clock_below_the_cli() -> None:
    package = Path(__file__).parent.parent / "pressekit"
    offenders = [p.relative_to(package).as_posix() for p in [*package.glob("*.py"), *package.glob("send/*.py")]
                 if p.relative_to(package).as_posix() not in ("cli_common.py", "serve.py", "send/options.py", "ledger.py")
                 and ("datetime.now(" in p.read_text() or "time.time()" in p.read_text() or "date.today(" in p.read_text())]
    assert offenders == []


def test_the_pressekit_script_prints_everything_and_exits_with_the_commands_status(tmp_path: Path) -> None:
    """`python -m pressekit` leaves without freeing a build's objects one by one; its output and exit status
    are those of the command."""
    import subprocess
    import sys

    root = write_site(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}

    def pressekit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pressekit", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    built = pressekit("build", "--site", str(root), "--now", "2026-01-01T12:00:00+01:00")
    assert built.returncode == 0 and built.stdout.startswith("Built "), built.stderr
    (root / "releases" / "kaputt").mkdir()
    (root / "releases" / "kaputt" / "index.md").write_text("kein Front Matter\n")
    failed = pressekit("build", "--site", str(root), "--now", "2026-01-01T12:00:00+01:00")
    assert failed.returncode == 1 and "releases/kaputt/index.md:1: " in failed.stderr
    assert "Traceback" not in failed.stderr
    assert pressekit("nosuch").returncode == 2
