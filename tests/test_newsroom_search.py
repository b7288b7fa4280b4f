"""The search index: one Pagefind bundle per year and one for the pages; a rebuild re-indexes only the
year whose releases changed, and a no-change rebuild touches none."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from pressekit.cli import main
from sitekit import SIMPLE, write_legal_pages, write_release, write_site

NOW = "2025-06-01T12:00:00+02:00"
OLD = "---\ntitle: Brücke wird saniert\ndate: 2024-05-02\ntags: [Verkehr]\n---\nDie Brücke über die Auen wird saniert.\n"


def build(root: Path) -> str:
    result = CliRunner().invoke(main, ["build", "--site", str(root), "--now", NOW])
    assert result.exit_code == 0, result.output
    return result.output


def stamps(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def test_search_page_golden(tmp_path: Path, golden) -> None:
    root = write_legal_pages(write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE, "2024-05-02-bruecke": OLD}))
    build(root)
    golden("newsroom/suche.html", (root / "output" / "suche" / "index.html").read_bytes())
    assert sorted(p.name for p in (root / "output" / "pagefind").iterdir()) == ["2024", "2025", "seiten"]
    assert (root / "output" / "pagefind" / "2025" / "pagefind.js").is_file()
    assert not list((root / "output" / "pagefind").rglob("pagefind-ui.js"))  # the page has its own interface


def test_rebuilds_reindex_only_the_changed_year(tmp_path: Path) -> None:
    root = write_legal_pages(write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE, "2024-05-02-bruecke": OLD}))
    build(root)
    index = root / "output" / "pagefind"
    first = stamps(index)
    assert "Nothing changed since the last build" in build(root)
    for path in (root / "releases").rglob("*"):
        os.utime(path)  # saved again without a change
    build(root)
    assert stamps(index) == first
    write_release(root, "2025-03-04-radweg", SIMPLE + "\nEin Nachtrag zur Ampel.\n")
    build(root)
    now = stamps(index)
    assert {k: v for k, v in now.items() if not k.startswith("2025/")} == \
        {k: v for k, v in first.items() if not k.startswith("2025/")}
    assert now["2025/pagefind-entry.json"] != first["2025/pagefind-entry.json"]
