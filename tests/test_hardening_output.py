"""The build's output handling under misuse and faults: where it may write, two builds at once,
output paths two sources claim, and a disk that is full or not writable."""

from __future__ import annotations

import errno
import fcntl
import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pressekit import output as output_module
from pressekit.cli import main
from pressekit.output import OutputFile
from pressekit.paths import OUTPUT_MARKER as MARKER
from pressekit.workers import Staging
from sitekit import SIMPLE, write_photo, write_release, write_site

NOW = "2025-06-01T12:00:00+02:00"
PHOTO = """\
---
title: Meldung mit Foto und Anlage
date: 2025-03-05
photos:
  - file: foto.jpg
    caption: Ein Radweg.
    credit: Jana Muster/ Landkreis
    alt: Ein Radweg im Grünen
attachments:
  - file: {attachment}
    title: Anlage
---
Text.
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder (the cache in .pressekit/ aside) and every folder, with its bytes."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*")) if ".pressekit" not in p.relative_to(folder).parts}


def build(site: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["build", "--site", str(site), "--now", NOW, "--jobs", "1", *args])


def leftovers(site: Path) -> list[str]:
    return sorted(p.name for p in site.iterdir() if p.name.startswith(".output."))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE})
    (root / "templates").mkdir()
    return root


# 1. --output must never be, hold or lie inside a source, and never replace a folder the build did not make

def _other_site(site: Path) -> str:
    write_site(site / "nachbar")
    return "nachbar"


def _foreign_folder(site: Path) -> str:
    (site / "fremd").mkdir()
    (site / "fremd" / "notiz.txt").write_text("wichtig\n")
    return "fremd"


REFUSED: dict[str, tuple[Callable[[Path], str], str]] = {
    "the site folder": (lambda site: ".", "cannot build into .: it holds the site's sources (pressekit.toml, "
                        "releases/), which the build would delete; choose a folder of its own, e.g. output/"),
    "its parent": (lambda site: "..", "cannot build into {parent}: it holds the site's sources (pressekit.toml, "
                   "releases/), which the build would delete; choose a folder of its own, e.g. output/"),
    "releases/": (lambda site: "releases", "cannot build into releases: it lies inside the site's releases/, "
                  "which the build would change; choose a folder of its own, e.g. output/"),
    "a release folder": (lambda site: "releases/2025-03-04-radweg", "cannot build into releases/2025-03-04-radweg: "
                         "it lies inside the site's releases/, which the build would change; "
                         "choose a folder of its own, e.g. output/"),
    "templates/": (lambda site: "templates", "cannot build into templates: it lies inside the site's templates/, "
                   "which the build would change; choose a folder of its own, e.g. output/"),
    ".pressekit/": (lambda site: ".pressekit/out", "cannot build into .pressekit/out: it lies inside the site's "
                    ".pressekit/, which the build would change; choose a folder of its own, e.g. output/"),
    "another site": (_other_site, "cannot build into nachbar: it holds a pressekit.toml (a site), "
                     "which the build would delete"),
    "a folder the build did not make": (_foreign_folder, "cannot build into fremd: it is not empty and was not made "
                                        "by pressekit build (no .pressekit-output in it); the build replaces the "
                                        "whole folder, so choose a new or empty folder"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_build_refuses_output_folders_that_hold_or_are_sources(site: Path, case: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    make, message = REFUSED[case]
    target = make(site)
    monkeypatch.chdir(site)
    before = snapshot(site.parent)
    result = build(site, "--output", target)
    assert result.exit_code == 1
    assert result.output == f"Error: {message.format(parent=site.parent)}\n"
    assert snapshot(site.parent) == before


def test_build_uses_an_empty_folder_and_marks_it(site: Path) -> None:
    (site / "leer").mkdir()
    assert build(site, "--output", str(site / "leer")).exit_code == 0
    assert (site / "leer" / "2025-03-04-radweg" / "index.html").is_file()
    assert (site / "leer" / MARKER).is_file()


def test_build_adopts_an_output_folder_an_older_pressekit_made(site: Path) -> None:
    assert build(site).exit_code == 0
    (site / "output" / MARKER).unlink()  # older versions wrote no mark, but left their build state
    result = build(site)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Built 1 of 1 releases into")
    assert (site / "output" / MARKER).is_file()


# 2. one build per site at a time, and no "nothing changed" for an output that is not complete

def run_build(site: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pressekit.cli", "build", "--site", str(site), "--now", NOW,
                             "--jobs", "1", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_builds_at_once_leave_a_complete_output(site: Path, tmp_path: Path) -> None:
    write_release(site, "2025-03-06-zweite", "---\ntitle: Zweite\ndate: 2025-03-06\ntags: [Verkehr]\n---\nText.\n")
    assert build(site, "--output", str(tmp_path / "clean")).exit_code == 0
    clean = snapshot(tmp_path / "clean")
    for round in range(8):
        index = site / "releases" / "2025-03-06-zweite" / "index.md"
        index.write_text(index.read_text())  # a new mtime: both builds have work to do
        os.utime(index, ns=(1_700_000_000_000_000_000 + round, 1_700_000_000_000_000_000 + round))
        builds = [run_build(site), run_build(site)]
        results = [b.communicate(timeout=120) for b in builds]
        assert [b.returncode for b in builds] == [0, 0], results
        assert snapshot(site / "output") == clean, f"round {round}"
        assert leftovers(site) == []
    result = build(site)
    assert result.output.startswith("Nothing changed since the last build")
    assert snapshot(site / "output") == clean


def hold_lock(site: Path) -> int:
    (site / ".pressekit").mkdir(exist_ok=True)
    fd = os.open(site / ".pressekit" / "build.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_no_wait_fails_while_another_build_runs(site: Path) -> None:
    assert build(site).exit_code == 0
    before = snapshot(site)
    fd = hold_lock(site)
    try:
        result = build(site, "--no-wait")
    finally:
        os.close(fd)
    assert result.exit_code == 1
    assert result.output == "Error: another build of this site is running; try again when it has finished\n"
    assert snapshot(site) == before


def test_a_second_build_waits_for_the_first(site: Path) -> None:
    fd = hold_lock(site)
    try:
        waiting = run_build(site)
        assert waiting.stderr is not None
        ready, _, _ = select.select([waiting.stderr], [], [], 60)
        said = waiting.stderr.readline() if ready else ""
        assert said == "waiting for another build of this site…\n"
        assert not (site / "output").exists()
    finally:
        os.close(fd)
    out, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0
    assert out.startswith("Built 1 of 1 releases into")


@pytest.mark.parametrize("threads", [1, 2], ids=["checked in a child process", "checked in this process"])
@pytest.mark.parametrize("damage", ["delete", "truncate", "touch"])
def test_a_damaged_output_is_rebuilt_not_called_up_to_date(site: Path, tmp_path: Path, damage: str,
                                                           threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pressekit.build.threading.active_count", lambda: threads)  # one thread: it forks
    assert build(site).exit_code == 0
    assert build(site).output.startswith("Nothing changed since the last build")
    clean = snapshot(site / "output")
    page = site / "output" / "2025-03-04-radweg" / "index.html"
    if damage == "delete":
        page.unlink()
    elif damage == "truncate":
        page.write_bytes(page.read_bytes()[:100])
    else:
        os.utime(page, ns=(1_000_000_000, 1_000_000_000))
    result = build(site)
    assert result.exit_code == 0
    assert result.output.startswith("Built 1 of 1 releases into")
    assert snapshot(site / "output") == clean


# 3. every output path has one producer

def _release(release_id: str) -> Callable[[Path], None]:
    return lambda site: write_release(site, release_id, "---\ntitle: Falsch\ndate: 2025-03-05\n---\nText.\n") and None


def _attachment(name: str) -> Callable[[Path], None]:
    def make(site: Path) -> None:
        folder = write_release(site, "2025-03-05-foto", PHOTO.format(attachment=name))
        write_photo(folder / "foto.jpg", size=(300, 200))
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"Anlage\n")
    return make


COLLISIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "archiv": (_release("archiv"), "releases/archiv/index.md:1: the release id 'archiv' is a reserved output path "
               "(the archive page); rename the folder"),
    "seite": (_release("seite"), "releases/seite/index.md:1: the release id 'seite' is a reserved output path "
              "(the newsroom's older pages); rename the folder"),
    "a year": (_release("2025"), "releases/2025/index.md:1: the release id '2025' is a reserved output path "
               "(a year's archive); rename the folder"),
    "email.txt": (_attachment("email.txt"), "releases/2025-03-05-foto/index.md:10: the attachment email.txt and "
                  "the e-mail of release 2025-03-05-foto (releases/2025-03-05-foto/index.md:1) are both "
                  "output/2025-03-05-foto/email.txt; rename the attachment email.txt"),
    "index.html": (_attachment("index.html"), "releases/2025-03-05-foto/index.md:10: the attachment index.html and "
                   "the page of release 2025-03-05-foto (releases/2025-03-05-foto/index.md:1) are both "
                   "output/2025-03-05-foto/index.html; rename the attachment index.html"),
    "fotos.zip": (_attachment("fotos.zip"), "releases/2025-03-05-foto/index.md:10: the attachment fotos.zip and "
                  "the photo ZIP of release 2025-03-05-foto (releases/2025-03-05-foto/index.md:5) are both "
                  "output/2025-03-05-foto/fotos.zip; rename the attachment fotos.zip"),
    "a photo variant": (_attachment("photos/foto-web.jpg"), "releases/2025-03-05-foto/index.md:10: the attachment "
                        "photos/foto-web.jpg and a variant of photo foto.jpg (releases/2025-03-05-foto/index.md:5) "
                        "are both output/2025-03-05-foto/photos/foto-web.jpg; rename the attachment photos/foto-web.jpg"),
}


@pytest.mark.parametrize("case", COLLISIONS)
def test_an_output_path_two_sources_make_is_an_error(site: Path, case: str) -> None:
    assert build(site).exit_code == 0
    make, message = COLLISIONS[case]
    make(site)
    before = snapshot(site)
    result = build(site)
    assert result.exit_code == 1
    assert result.output == f"{message}\n1 problem found; nothing was written.\n"
    assert snapshot(site) == before
    assert leftovers(site) == []


@pytest.mark.parametrize("case", ["archiv", "seite", "a year"])
def test_check_reports_reserved_release_ids(site: Path, case: str) -> None:
    make, message = COLLISIONS[case]
    make(site)
    result = CliRunner().invoke(main, ["check", "--site", str(site), "--now", NOW])
    assert result.exit_code == 1
    path, line, text = message.split(":", 2)
    assert f"{path}:{line}: error:{text}\n" in result.output


# 4. a full or read-only disk: a clear error, the previous output intact, nothing left behind

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
EACCES = OSError(errno.EACCES, os.strerror(errno.EACCES))


def fail_render(relpath: str, error: OSError) -> Callable[[pytest.MonkeyPatch], str]:
    """Rendering into the staging folder fails at relpath."""
    def patch(monkeypatch: pytest.MonkeyPatch) -> str:
        real = Staging.write

        def write(self: Staging, f: OutputFile) -> str:
            if f.relpath == relpath:
                raise OSError(error.errno, error.strerror, str(self.root / f.relpath))
            return real(self, f)
        monkeypatch.setattr(Staging, "write", write)
        return f"output/{relpath}"
    return patch


def fail_copy(monkeypatch: pytest.MonkeyPatch) -> str:
    """Copying an attachment fails: the disk filled up partway."""
    real = output_module._copy

    def copy(source: Path, target: Path) -> None:
        if source.name == "plan.pdf":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        real(source, target)
    monkeypatch.setattr(output_module, "_copy", copy)
    return "output/2025-03-05-anlage/plan.pdf"


FAULTS: dict[str, tuple[Callable[[pytest.MonkeyPatch], str], str]] = {
    "disk full while rendering": (fail_render("feed.xml", ENOSPC), "No space left on device"),
    "disk full while copying": (fail_copy, "No space left on device"),
    "not writable": (fail_render("2025-03-04-radweg/index.html", EACCES), "Permission denied"),
}


@pytest.fixture
def attached(site: Path) -> Path:
    folder = write_release(site, "2025-03-05-anlage", "---\ntitle: Anlage\ndate: 2025-03-05\nattachments:\n"
                           "  - file: plan.pdf\n    title: Plan\n---\nText.\n")
    (folder / "plan.pdf").write_bytes(b"%PDF-1.4 Plan\n")
    return site


@pytest.mark.parametrize("first", [True, False], ids=["first build", "incremental build"])
@pytest.mark.parametrize("fault", FAULTS)
def test_a_write_error_keeps_the_previous_output(attached: Path, tmp_path: Path, fault: str, first: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    site = attached
    if not first:
        assert build(site).exit_code == 0
        index = site / "releases" / "2025-03-04-radweg" / "index.md"
        index.write_text(index.read_text().replace("Radweg", "Fahrradweg"))
        (site / "releases" / "2025-03-05-anlage" / "plan.pdf").write_bytes(b"%PDF-1.4 Plan, neu\n")
    before = snapshot(site)
    patch, reason = FAULTS[fault]
    with monkeypatch.context() as patched:
        shown = patch(patched)
        result = build(site)
    assert (result.exit_code, result.output) == (1, f"Error: cannot write {shown}: {reason}\n")
    assert snapshot(site) == before
    assert leftovers(site) == []
    assert build(site).exit_code == 0  # the next build recovers by itself
    assert build(site, "--output", str(tmp_path / "clean")).exit_code == 0
    assert snapshot(site / "output") == snapshot(tmp_path / "clean")


def test_a_failed_swap_puts_the_previous_output_back(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert build(site).exit_code == 0
    (site / "output" / "feed.xml").unlink()  # the state no longer matches: the next build replaces output/
    before = snapshot(site)
    real = Path.rename

    def rename(self: Path, target: str | os.PathLike[str]) -> Path:
        if self.name == ".output.new":
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(self))
        return real(self, target)
    with monkeypatch.context() as patched:
        patched.setattr(Path, "rename", rename)
        result = build(site)
    assert (result.exit_code, result.output) == (1, "Error: cannot write output: Input/output error\n")
    assert snapshot(site) == before
    assert leftovers(site) == []


def test_an_output_under_a_file_is_an_error(site: Path) -> None:
    (site / "datei").write_text("kein Ordner\n")
    before = snapshot(site)
    result = build(site, "--output", str(site / "datei" / "out"))
    assert (result.exit_code, result.output) == (1, "Error: cannot write datei/out: Not a directory\n")
    assert snapshot(site) == before


def test_a_killed_build_leaves_nothing_the_next_build_trips_on(site: Path, tmp_path: Path) -> None:
    assert build(site).exit_code == 0
    for name in (".output.new", ".output.old"):  # as a build killed between its two renames leaves them
        (site / name / "halb").mkdir(parents=True)
        (site / name / MARKER).write_bytes(b"")
        (site / name / "halb" / "index.html").write_bytes(b"<p>halb")
    result = build(site, "--now", "2025-06-02T12:00:00+02:00")
    assert result.exit_code == 0, result.output
    assert leftovers(site) == []


def test_a_folder_in_the_way_that_the_build_did_not_make_is_left_alone(site: Path) -> None:
    (site / ".output.new").mkdir()
    (site / ".output.new" / "notiz.txt").write_text("wichtig\n")
    before = snapshot(site)
    result = build(site)
    assert (result.exit_code, result.output) == (1, "Error: .output.new is in the way and was not made by pressekit "
                                                    "build (no .pressekit-output in it); move or delete it\n")
    assert snapshot(site) == before
