"""Write small test sites: a pressekit.toml, releases and generated photos."""

from __future__ import annotations

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

CONFIG = '''\
[site]
title = "Pressemitteilungen des Landkreises Beispielheim"
organisation = "Landkreis Beispielheim"
base_url = "https://presse.beispielheim.example/"
language = "de"
timezone = "Europe/Berlin"
dateline = "Beispielheim"

[texts]
photo_notice = "Die angebotenen Fotos dürfen nur mit Fotonachweis und im Zusammenhang mit der Meldung verwendet werden."
reuse = "Sämtliche Texte und Fotos können unter Angabe der Quelle frei veröffentlicht werden, Belegexemplare sind willkommen."
membership = "Die Pressestelle \\" Landkreis Beispielheim\\" ist Mitglied bei presse-service.example [ www.presse-service.example]. Dort können Sie Mitteilungen recherchieren."

[boilerplate]
heading = "Der Landkreis Beispielheim im Überblick"
text = "Die Kreisverwaltung Beispielheim mit rund 900 Bediensteten arbeitet für rund 180.000 Einwohnerinnen und Einwohner."

[contacts.pressestelle]
label = "Pressestelle"
name = "Jana Muster"
phone = "01234/5678"
email = "presse@beispielheim.example"

[contacts.umwelt]
label = "Umweltamt"
name = "Jörg Grün"
email = "umwelt@beispielheim.example"

[rights.press]
label = "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung"
copyright = "© Landkreis Beispielheim"
url = "https://presse.beispielheim.example/nutzungsbedingungen/"

[rights.frei]
label = "Frei zur redaktionellen Verwendung"
copyright = "© Landkreis Beispielheim"

[photos]
variants = [
  { name = "thumb", width = 200, credit = "burn" },
  { name = "web", width = 400, credit = "burn" },
  { name = "print", width = 800, credit = "metadata" },
]

[email]
from = "Pressestelle Landkreis Beispielheim <presse@beispielheim.example>"
'''


def write_site(root: Path, releases: dict[str, str] | None = None, config: str = CONFIG) -> Path:
    """Write a site into root: pressekit.toml plus releases {id: index.md text (dedented)}."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pressekit.toml").write_text(config, encoding="utf-8")
    (root / "releases").mkdir(exist_ok=True)
    for release_id, text in (releases or {}).items():
        write_release(root, release_id, text)
    return root


LEGAL_PAGES = {"impressum": "Impressum", "datenschutz": "Datenschutzerklärung",
               "barrierefreiheit": "Erklärung zur Barrierefreiheit"}


def write_legal_pages(root: Path) -> Path:
    """Write the three pages every public body's site needs (pages/impressum.md ...), filled in."""
    (root / "pages").mkdir(parents=True, exist_ok=True)
    for slug, title in LEGAL_PAGES.items():
        (root / "pages" / f"{slug}.md").write_text(f"---\ntitle: {title}\nfooter: true\n---\n{title} des Landkreises.\n",
                                                   encoding="utf-8")
    return root


def write_release(root: Path, release_id: str, text: str) -> Path:
    """Write releases/<id>/index.md (text is dedented) and return the folder."""
    folder = root / "releases" / release_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.md").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder


def write_photo(path: Path, size: tuple[int, int] = (1200, 800), color: tuple[int, int, int] = (70, 130, 180),
                fmt: str = "JPEG") -> Path:
    """Write a simple generated image (gradient with a shape) to path."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    w, h = size
    for y in range(0, h, max(1, h // 32)):
        draw.rectangle([0, y, w, y + h // 64], fill=(color[0], min(255, color[1] + y * 100 // h), color[2]))
    draw.ellipse([w // 4, h // 4, w * 3 // 4, h * 3 // 4], fill=(240, 200, 60))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, quality=85) if fmt == "JPEG" else image.save(path, fmt)
    return path


SIMPLE = '''\
---
title: Kreis eröffnet neuen Radweg zwischen Nordstadt und Südheim
date: 2025-03-04
tags: [Verkehr, Umwelt]
---
Der neue Radweg ist 4,2 Kilometer lang und verbindet die beiden Orte.

## Bauzeit und Kosten

Die Bauarbeiten dauerten „nur“ sechs Monate.
'''


def stable(relpath: str) -> bool:
    """False for the search index files Pagefind writes in an arbitrary order (its filter and meta
    indexes, Pagefind issue #638): of the search bundles only the content-addressed fragments and the
    scripts can be compared with another build's."""
    return not relpath.startswith("pagefind/") or "/fragment/" in relpath or relpath.endswith(".js")
