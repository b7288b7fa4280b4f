"""The newsroom a public body must run: pages from pages/ (Impressum, Datenschutz, Barrierefreiheit ...),
their footer links on every page, and `check` for placeholders and missing legal pages."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressekit.cli import main
from sitekit import SIMPLE, write_site

NOW = "2025-06-01T12:00:00+02:00"
IMPRESSUM = """\
---
title: Impressum
footer: true
---
## Anbieter

Landkreis Beispielheim – Der Landrat  
Kreishaus, Am Markt 1

Verantwortlich: Jana Muster
"""
KONTAKT = "---\ntitle: Kontakt\nnav: 1\n---\nSchreiben Sie uns.\n"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def page_site(root: Path, pages: dict[str, str]) -> Path:
    write_site(root, {"2025-03-04-radweg": SIMPLE})
    (root / "pages").mkdir()
    for slug, text in pages.items():
        (root / "pages" / f"{slug}.md").write_text(text, encoding="utf-8")
    return root


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_page_is_rendered_in_the_theme(tmp_path: Path, golden) -> None:
    root = page_site(tmp_path / "site", {"impressum": IMPRESSUM, "kontakt": KONTAKT})
    assert run("build", "--site", str(root), "--now", NOW)[0] == 0
    golden("newsroom/impressum.html", (root / "output" / "impressum" / "index.html").read_bytes())
    sitemap = (root / "output" / "sitemap.xml").read_text()
    assert "<loc>https://presse.beispielheim.example/impressum/</loc>" in sitemap
    assert "<loc>https://presse.beispielheim.example/kontakt/</loc>" in sitemap


def test_footer_and_navigation_link_the_pages_from_every_page(tmp_path: Path) -> None:
    root = page_site(tmp_path / "site", {"impressum": IMPRESSUM, "kontakt": KONTAKT})
    assert run("build", "--site", str(root), "--now", NOW)[0] == 0
    html_files = sorted((root / "output").rglob("*.html"))
    assert len(html_files) >= 8
    for path in html_files:
        if path.name.startswith("email"):
            continue
        html = path.read_text()
        footer = html[html.index('<footer class="site-footer">'):]
        assert re.search(r'<a href="[./]*impressum/">Impressum</a>', footer), path
        assert "kontakt/" not in footer, path  # not a footer page
        nav = html[html.index('aria-label="Hauptnavigation"'):html.index("</nav>")]
        assert re.search(r'<a href="[./]*kontakt/">Kontakt</a>', nav), path


def test_a_new_footer_page_rerenders_every_page(tmp_path: Path) -> None:
    root = page_site(tmp_path / "site", {"kontakt": KONTAKT})
    assert run("build", "--site", str(root), "--now", NOW)[0] == 0
    (root / "pages" / "impressum.md").write_text(IMPRESSUM, encoding="utf-8")
    assert run("build", "--site", str(root), "--now", NOW)[0] == 0
    assert 'href="../impressum/">Impressum</a>' in (root / "output" / "2025-03-04-radweg" / "index.html").read_text()


@pytest.mark.parametrize(("name", "text", "message"), [
    ("impressum", "---\ntitel: Impressum\n---\nText\n",
     "pages/impressum.md:1: title: is missing\n  hint: every page needs a title\n"
     "pages/impressum.md:2: unknown field 'titel'\n  hint: did you mean 'title'?\n"),
    ("kontakt", "---\ntitle: Kontakt\nnav: zwei\nfooter: ja\n---\nText\n",
     "pages/kontakt.md:3: nav: 'zwei' is not a whole number\n  hint: nav: 1 puts the page first in the navigation\n"
     "pages/kontakt.md:4: footer: 'ja' is not true or false\n"),
    ("suche", "---\ntitle: Suche\n---\nText\n",
     "pages/suche.md:1: the file name 'suche.md' cannot be a page address\n"
     "  hint: use lower-case letters, digits and hyphens, e.g. pages/impressum.md\n"),
    ("2025-03-04-radweg", "---\ntitle: Radweg\n---\nText\n",
     "pages/2025-03-04-radweg.md:1: the page '2025-03-04-radweg' has the address of the release "
     "releases/…/2025-03-04-radweg/\n  hint: rename one of them\n"),
    ("impressum", "Impressum ohne Kopf\n",
     "pages/impressum.md:1: index.md must start with front matter between '---' lines\n"
     "  hint: begin the file with '---', the fields, then '---'\n"),
])
def test_a_broken_page_fails_the_build_and_leaves_output_alone(tmp_path: Path, name: str, text: str,
                                                                message: str) -> None:
    root = page_site(tmp_path / "site", {"kontakt": KONTAKT})
    assert run("build", "--site", str(root), "--now", NOW)[0] == 0
    before = tree(root / "output")
    (root / "pages" / f"{name}.md").write_text(text, encoding="utf-8")
    code, out = run("build", "--site", str(root), "--now", NOW)
    assert code == 1
    count = sum(line.startswith("pages/") for line in message.splitlines())
    assert out == message + f"{count} problem{'s' if count > 1 else ''} found; nothing was written.\n"
    assert "Traceback" not in out
    assert tree(root / "output") == before


def test_check_reports_placeholders_and_missing_legal_pages(tmp_path: Path) -> None:
    text = "---\ntitle: Impressum\nfooter: true\n---\nAnbieter: [[Name der Behörde]]\n\nTelefon: [[Telefonnummer]]\n"
    root = page_site(tmp_path / "site", {"impressum": text})
    code, out = run("check", "--site", str(root), "--now", NOW)
    assert code == 1
    assert out == (
        "pages/barrierefreiheit.md:1: warning: the site has no Erklärung zur Barrierefreiheit\n"
        "  hint: a public body must publish it; `pressekit init` creates a template\n\n"
        "pages/datenschutz.md:1: warning: the site has no Datenschutzerklärung\n"
        "  hint: a public body must publish it; `pressekit init` creates a template\n\n"
        "pages/impressum.md:5: error: the placeholder [[Name der Behörde]] is still in the text\n"
        "  hint: replace it with your own text before the page goes online\n"
        "pages/impressum.md:7: error: the placeholder [[Telefonnummer]] is still in the text\n"
        "  hint: replace it with your own text before the page goes online\n\n"
        "1 release checked: 2 errors, 2 warnings.\n")


def test_init_creates_the_legal_pages_with_marked_placeholders(tmp_path: Path) -> None:
    site = tmp_path / "neu"
    assert run("init", str(site))[0] == 0
    pages = sorted(p.name for p in (site / "pages").iterdir())
    assert pages == ["barrierefreiheit.md", "datenschutz.md", "gebaerdensprache.md", "impressum.md",
                     "leichte-sprache.md"]
    statement = (site / "pages" / "barrierefreiheit.md").read_text()
    for heading in ("## Stand der Vereinbarkeit mit den Anforderungen", "## Nicht barrierefreie Inhalte",
                    "## Erstellung dieser Erklärung", "## Barrieren melden", "## Schlichtungsverfahren"):
        assert heading in statement
    code, out = run("check", "--site", str(site))
    assert code == 1
    assert "pages/impressum.md:9: error: the placeholder [[Name der Behörde, z. B. Kreis Musterstadt – Der Landrat]]" in out
    assert "warning: the site has no" not in out
    assert run("build", "--site", str(site), "--now", NOW)[0] == 0  # a preview of the skeleton still builds
    footer = (site / "output" / "index.html").read_text().split('<footer class="site-footer">')[1]
    assert [m for m in re.findall(r'href="([a-z-]+)/"', footer)] == [
        "barrierefreiheit", "datenschutz", "gebaerdensprache", "impressum", "leichte-sprache"]


def test_the_example_site_has_its_legal_pages_filled_in() -> None:
    repo = Path(__file__).parent.parent
    code, out = run("check", "--site", str(repo), "--now", "2027-02-01T12:00:00+01:00")
    assert "pages/" not in out, out


def test_links_to_pages_search_and_dates_are_not_missing_releases(tmp_path: Path) -> None:
    root = page_site(tmp_path / "site", {"impressum": IMPRESSUM})
    (root / "releases" / "2025-03-04-radweg" / "index.md").write_text(
        "---\ntitle: Radweg\ndate: 2025-03-04\n---\nSiehe [Impressum](../impressum/), [Suche](../suche/), "
        "[Termine](../termine/), [Kalender](../termine.ics), [Archiv](../archiv/) und [alt](../gibt-es-nicht/).\n",
        encoding="utf-8")
    code, out = run("check", "--site", str(root), "--now", NOW)
    links = [line for line in out.splitlines() if "the link" in line]
    assert links == ["releases/2025-03-04-radweg/index.md:5: warning: the link '../gibt-es-nicht/' points to the "
                     "release 'gibt-es-nicht', which does not exist"]
