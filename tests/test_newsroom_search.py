"""The search index: one Pagefind bundle per year and one for the pages; a rebuild re-indexes only the
year whose releases changed, and a no-change rebuild touches none."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from unittest import mock

from click.testing import CliRunner

from pressekit import search
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


def documents(root: Path) -> Path:
    return root / ".pressekit" / "cache" / "search-documents"


def test_an_edit_writes_the_search_document_of_the_edited_release_only(tmp_path: Path) -> None:
    """Pagefind reads a year's documents from a folder kept between builds: an edit rewrites one."""
    extra = OLD.replace("Brücke wird saniert", "Schule wird gebaut").replace("Die Brücke über die Auen", "Die Schule")
    root = write_legal_pages(write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE, "2024-05-02-bruecke": OLD,
                                                            "2024-05-03-schule": extra}))
    build(root)
    first = stamps(documents(root))
    assert {k for k in first if k.endswith("index.html")} == {
        "2024/2024-05-02-bruecke/index.html", "2024/2024-05-03-schule/index.html", "2025/2025-03-04-radweg/index.html",
        *(f"seiten/{slug}/index.html" for slug in ("barrierefreiheit", "datenschutz", "impressum"))}
    write_release(root, "2024-05-02-bruecke", OLD + "\nDer Zeitplan steht.\n")
    build(root)
    now = stamps(documents(root))
    assert sorted(k for k in now if now[k] != first.get(k)) == ["2024/.documents", "2024/2024-05-02-bruecke/index.html"]
    assert "Der Zeitplan steht." in (documents(root) / "2024" / "2024-05-02-bruecke" / "index.html").read_text("utf-8")


def test_a_damaged_or_removed_search_document_is_written_again(tmp_path: Path) -> None:
    root = write_legal_pages(write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE, "2024-05-02-bruecke": OLD}))
    build(root)
    clean = (documents(root) / "2025" / "2025-03-04-radweg" / "index.html").read_bytes()
    (documents(root) / "2025" / "2025-03-04-radweg" / "index.html").write_bytes(b"<html>Falsch</html>")
    write_release(root, "2025-03-04-radweg", SIMPLE + "\n")  # the same text: its year is indexed again
    (documents(root) / "2025" / ".documents").write_bytes(b"garbled")
    build(root)
    assert (documents(root) / "2025" / "2025-03-04-radweg" / "index.html").read_bytes() == clean
    assert b"Falsch" not in b"".join(p.read_bytes() for p in (root / "output" / "pagefind" / "2025").rglob("*") if p.is_file())


def test_the_documents_of_a_removed_release_and_year_are_removed(tmp_path: Path) -> None:
    root = write_legal_pages(write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE, "2024-05-02-bruecke": OLD}))
    build(root)
    assert (documents(root) / "2024" / "2024-05-02-bruecke").is_dir()
    shutil.rmtree(root / "releases" / "2024-05-02-bruecke")
    build(root)
    assert sorted(p.name for p in documents(root).iterdir()) == ["2025", "seiten"]
    assert sorted(p.name for p in (root / "output" / "pagefind").iterdir()) == ["2025", "seiten"]


def test_a_year_of_many_releases_is_indexed_in_parts_and_an_edit_reindexes_its_part(tmp_path: Path) -> None:
    """Pagefind's time grows with the documents of an index: a year of more than INDEX_SIZE releases is
    cut into parts of whole months, and an edit re-indexes its part only."""
    autumn = OLD.replace("2024-05-02", "2024-10-02").replace("Brücke wird saniert", "Herbstmarkt")
    root = write_legal_pages(write_site(tmp_path / "site", {"2025-03-04-radweg": SIMPLE, "2024-05-02-bruecke": OLD,
                                                            "2024-10-02-markt": autumn}))
    with mock.patch.object(search, "INDEX_SIZE", 1):
        build(root)
        index = root / "output" / "pagefind"
        assert sorted(p.name for p in index.iterdir()) == ["2024-01", "2024-07", "2025", "seiten"]
        page = (root / "output" / "suche" / "index.html").read_text("utf-8")
        assert "[&#34;2025&#34;, &#34;2024-07&#34;, &#34;2024-01&#34;, &#34;seiten&#34;]" in page
        first = stamps(index)
        write_release(root, "2024-10-02-markt", autumn + "\nMit Kinderkarussell.\n")
        build(root)
    now = stamps(index)
    assert {k.split("/")[0] for k in now if now[k] != first.get(k)} == {"2024-07"}
