"""Incremental builds: after any sequence of edits, output/ equals a clean build's, byte for byte."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressekit.build import build_site
from pressekit.cli import main
from pressekit.templates import theme_dir
from sitekit import write_photo, write_release, write_site

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
PHOTO = "photos:\n  - file: bild.jpg\n    caption: Ein Bild.\n    credit: {credit}\n    alt: Eine Wiese\n"


def release_text(title: str, body: str, tags: str = "[Verkehr]", credit: str | None = None, day: int = 4) -> str:
    photo = PHOTO.format(credit=credit) if credit else ""
    return f"---\ntitle: {title}\ndate: 2025-03-{day:02d}\ntags: {tags}\n{photo}---\n{body}\n"


def tree(folder: Path) -> dict[str, str]:
    """Digest of every output file; of the search bundles only the content-addressed fragments, since
    Pagefind writes its filter and meta indexes in an arbitrary order (Pagefind issue #638)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and stable(p.relative_to(folder).as_posix())}


def stable(relpath: str) -> bool:
    return not relpath.startswith("pagefind/") or "/fragment/" in relpath or relpath.endswith(".js")


class Site:
    """A small site that the test edits like a press officer would, saving files seconds apart."""

    def __init__(self, root: Path):
        self.root = write_site(root)
        self.clock = 1_700_000_000
        self.ids = ["2025-03-01-a", "2025-03-02-b", "2025-03-03-c"]
        for n, rid in enumerate(self.ids, 1):
            self.write(rid, release_text(f"Meldung {n}", f"Text {n}.", credit="Jana Muster" if n == 1 else None, day=n))
        write_photo(self.root / "releases" / self.ids[0] / "bild.jpg", size=(600, 400))
        self.touch_tree()

    def touch_tree(self) -> None:
        for path in sorted(self.root.rglob("*")):
            if ".pressekit" not in path.parts and "output" not in path.parts:
                self.tick(path)

    def tick(self, path: Path) -> None:
        self.clock += 2
        os.utime(path, ns=(self.clock * 10**9, self.clock * 10**9))

    def write(self, rid: str, text: str) -> None:
        folder = write_release(self.root, rid, text)
        self.tick(folder / "index.md")
        self.tick(folder)

    def edit(self, action: str, n: int) -> None:
        rid = self.ids[n % len(self.ids)] if self.ids else None
        index = self.root / "releases" / rid / "index.md" if rid else None
        if action == "body" and index:
            self.write(rid, index.read_text().replace("\n---\n", f"\n---\nNeuer Absatz {n}.\n\n", 1))
        elif action == "title" and index:
            self.write(rid, index.read_text().replace("title: ", f"title: Neu {n} ", 1))
        elif action == "tag" and index and f"Thema{n % 2}" not in index.read_text():
            self.write(rid, index.read_text().replace("tags: [", f"tags: [Thema{n % 2}, ", 1))
        elif action == "credit" and rid == self.ids[0] and index:
            self.write(rid, index.read_text().replace("credit: ", f"credit: Neu{n} ", 1))
        elif action == "template":
            target = self.root / "templates" / "404.html"
            target.parent.mkdir(exist_ok=True)
            text = (theme_dir() / "404.html").read_text().replace("</h1>", f" ({n})</h1>")
            target.write_text(text)
            self.tick(target)
        elif action == "config":
            config = self.root / "pressekit.toml"
            config.write_text(config.read_text().replace('title = "', f'title = "{n} ', 1))
            self.tick(config)
        elif action == "add":
            rid = f"2025-04-{n % 28 + 1:02d}-neu{n}"
            if rid not in self.ids:
                self.ids.append(rid)
                self.write(rid, release_text(f"Neu {n}", f"Neuer Text {n}.", tags="[Umwelt]", day=n % 28 + 1))
        elif action == "delete" and rid and len(self.ids) > 1:
            shutil.rmtree(self.root / "releases" / rid)
            self.ids.remove(rid)
            self.tick(self.root / "releases")
        elif action == "rename" and rid:
            new = rid + "-x"
            (self.root / "releases" / rid).rename(self.root / "releases" / new)
            self.ids[self.ids.index(rid)] = new
            self.tick(self.root / "releases" / new)

    def clean_build(self, target: Path) -> dict[str, str]:
        copy = target / "site"
        shutil.copytree(self.root, copy, ignore=shutil.ignore_patterns(".pressekit", "output"))
        build_site(copy, copy / "output", NOW)
        return tree(copy / "output")


ACTIONS = st.sampled_from(["body", "title", "tag", "credit", "template", "config", "add", "delete", "rename"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(ACTIONS, st.integers(0, 50)), min_size=1, max_size=4))
def test_incremental_output_equals_clean_build(tmp_path_factory, edits: list[tuple[str, int]]) -> None:
    base = tmp_path_factory.mktemp("inc")
    site = Site(base / "site")
    build_site(site.root, site.root / "output", NOW)
    for step, (action, n) in enumerate(edits):
        site.edit(action, n)
        build_site(site.root, site.root / "output", NOW)
        clean = site.clean_build(base / f"clean{step}")
        assert tree(site.root / "output") == clean, (action, n)


def test_no_change_rebuild_renders_nothing(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    runner = CliRunner()
    args = ["build", "--site", str(site.root), "--now", NOW.isoformat(), "--stats"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "variants made: 3, reused: 0" in first.output
    second = runner.invoke(main, args)
    assert "Nothing changed since the last build" in second.output
    assert "pages rendered: 0," in second.output and "variants made: 0," in second.output
    site.touch_tree()  # every file saved again without a change: stamps differ, keys do not
    third = runner.invoke(main, args)
    assert "pages rendered: 0," in third.output and "variants made: 0, reused: 3" in third.output
    assert "0 files written" in third.output


def test_one_edit_renders_only_what_lists_it(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    before = {p: p.stat().st_mtime_ns for p in (site.root / "output").rglob("*.html")}
    index = site.root / "releases" / "2025-03-03-c" / "index.md"
    site.write("2025-03-03-c", index.read_text() + "\nEin Nachtrag am Ende.\n")  # the summary stays
    report = build_site(site.root, site.root / "output", NOW)
    changed = sorted(p.relative_to(site.root / "output").as_posix()
                     for p, t in before.items() if p.stat().st_mtime_ns != t)
    assert changed == ["2025-03-03-c/email.html", "2025-03-03-c/index.html"]
    assert "Ein Nachtrag am Ende." in (site.root / "output" / "2025-03-03-c" / "email.txt").read_text()
    assert report.pages_rendered == 1 and report.variants_made == 0
