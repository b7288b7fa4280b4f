"""`pressekit init` (a new site from the skeleton) and `pressekit new` (a new release folder with every
front-matter field explained in German)."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, time
from pathlib import Path

from .config import Config

from .config_file import load_config
from .errors import BuildFailed, PressekitError, display_path
from .paths import RELEASES_DIR
from .text import LINE_BREAKS, slugify

MAX_SLUG = 60
# Comments start in this column, so that the file reads like a form.
_COLUMN = 40


def release_id(title: str, day: date) -> str:
    """The folder name of a new release: `<YYYY-MM-DD>-<slug of the title>`; raise PressekitError when unusable."""
    if not title.strip():
        raise PressekitError("the title is empty; give it in quotes, e.g. pressekit new \"Neuer Radweg eröffnet\"")
    if LINE_BREAKS.search(title.strip()):
        raise PressekitError("the title contains a line break; a title is a single line")
    slug = slugify(title)
    if not slug:
        raise PressekitError(f"the title {title!r} has no letters or digits to name the folder after")
    if len(slug) > MAX_SLUG:  # file systems allow 255 bytes; a URL should stay readable
        slug = slug[:MAX_SLUG + 1].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return f"{day.isoformat()}-{slug}"


def new_release(root: Path, title: str, day: date | None = None, now: datetime | None = None) -> Path:
    """Create releases/<date>-<slug>/index.md and return its path; `day` defaults to `now`'s date in the site's zone.

    Raises BuildFailed when pressekit.toml is invalid and PressekitError when the release exists.
    """
    config, errors = load_config(root)
    if config is None:
        raise BuildFailed(errors)
    if day is None:
        if now is None:
            raise ValueError("new_release needs a day or the current time")
        day = now.astimezone(config.site.tz).date()
    folder = root / RELEASES_DIR / release_id(title, day)
    source = folder / "index.md"
    if folder.exists():
        raise PressekitError(f"{display_path(folder, root)}/ already exists; nothing was changed "
                             "(choose another title or --date, or edit the existing release)")
    folder.mkdir(parents=True)
    source.write_text(release_template(title.strip(), day, config), encoding="utf-8")
    return source


def release_template(title: str, day: date, config: Config) -> str:
    """The text of a new index.md: required fields filled in, optional ones commented out, all explained."""
    tz = config.site.tz
    embargo = datetime.combine(day, time(10, 0), tzinfo=tz).isoformat()
    contact = config.contacts[0].key if config.contacts else None
    rights = config.rights[0].key if config.rights else "press"
    lines = [
        "---",
        "# Neue Pressemitteilung. Zeilen mit '#' sind Erläuterungen; für ein optionales Feld",
        "# das '#' am Zeilenanfang entfernen. `pressekit check` prüft die Angaben.",
        _field(f"title: {_quoted(title)}", "Überschrift, zugleich Betreff der E-Mail (höchstens 120 Zeichen)"),
        _field(f"date: {day.isoformat()}", "Meldungsdatum: JJJJ-MM-TT oder mit Uhrzeit 2025-07-02T10:00:00+02:00"),
        _field("draft: true", "Entwurf: wird nie veröffentlicht; auf false setzen, wenn die Meldung erscheinen darf"),
        _field(f"contact: {contact}", "Pressekontakt: ein Schlüssel aus [contacts.*] in pressekit.toml")
        if contact else _field("# contact: pressestelle", "Pressekontakt: in pressekit.toml ist noch kein [contacts.*]"),
        "",
        "# Optionale Felder",
        _field(f"# embargo: {embargo}", "Sperrfrist: vorher wird die Meldung nicht veröffentlicht"),
        _field(f"# updated: {embargo}", "Zeitpunkt einer Korrektur"),
        _field("# send: false", "nicht automatisch an die E-Mail-Abonnenten senden (pressekit publish)"),
        _field("# subtitle: Unterzeile", "Unterzeile: auf der Seite und in den Feeds"),
        _field("# summary: Anreißer für Listen und Feeds", "höchstens 300 Zeichen; sonst gilt der erste Absatz"),
        _field(f"# dateline: {config.site.dateline or 'Ort'}", "Ortsmarke (E-Mail-Layout ots)"),
        _field("# tags: [Verwaltung, Verkehr]", "Themen: je eine Seite und ein RSS-Feed"),
        _field("# photos:", "Fotos: die Dateien liegen in diesem Ordner"),
        _field("#   - file: foto.jpg", "Dateiname"),
        _field("#     caption: Bildunterschrift", "Bildunterschrift: wer oder was ist zu sehen"),
        _field("#     credit: Vorname Name/ Organisation", "Fotonachweis: Pflicht für jedes Foto"),
        _field("#     alt: Beschreibung des Bildes", "Alternativtext: was das Bild zeigt, nicht die Bildunterschrift"),
        _field(f"#     rights: {rights}", "Nutzungsrechte: ein Schlüssel aus [rights.*]; sonst gilt der erste"),
        _field("#     photographer: Vorname Name", "Fotograf/in, wenn der Fotonachweis auch die Organisation nennt"),
        _field("#     symbolic: true", "Symbolfoto: „(Symbolfoto)“ steht dann hinter der Bildunterschrift"),
        _field("#     source: camera", "Herkunft: camera, ki (KI-generiert), composite oder scan"),
        _field(f"#     expires: {day.replace(year=day.year + 1).isoformat()}",
               "Ende der Lizenz oder Einwilligung: ab dann wird das Foto entfernt"),
        _field("# attachments:", "Downloads, z. B. PDF: die Dateien liegen in diesem Ordner"),
        _field("#   - file: dokument.pdf", "Dateiname"),
        _field("#     title: Titel des Dokuments", "so heißt der Link auf der Seite"),
        _field("# corrections:", "Korrekturen nach der Veröffentlichung (dann: pressekit send --correction)"),
        _field(f"#   - date: {embargo}", "Zeitpunkt der Korrektur"),
        _field("#     text: Richtig ist …", "was korrigiert wurde, ein Absatz"),
        _field("# withdrawn:", "Rückruf der Meldung (dann: pressekit send --withdrawal)"),
        _field(f"#   date: {embargo}", "Zeitpunkt des Rückrufs"),
        _field("#   reason: Grund", "warum die Meldung zurückgezogen wird"),
        _field("# event:", "Pressetermin: erscheint unter /termine/ und in termine.ics"),
        _field(f"#   start: {datetime.combine(day, time(11, 30), tzinfo=tz).isoformat()}", "Beginn mit Uhrzeit"),
        _field(f"#   end: {datetime.combine(day, time(13, 0), tzinfo=tz).isoformat()}", "Ende (optional)"),
        _field("#   location: Kreishaus, Sitzungssaal", "Ort: steht so in der E-Mail-Zeile 'Termin:'"),
        _field("#   address: Straße 1, 12345 Ort", "Anschrift (optional)"),
        _field("#   accreditation: bis zum Vortag an presse@…", "Akkreditierung (optional)"),
        _field("#   cancelled: false", "true, wenn der Termin abgesagt ist: Kalender streichen ihn dann"),
        "---",
        "<!-- Hier beginnt der Text der Meldung (Markdown). Der erste Absatz ist der Anreißer,",
        "     Zwischenüberschriften beginnen mit '## ' (die Überschrift der Seite ist der Titel).",
        "     Dieser Kommentar erscheint nirgends und kann gelöscht werden. -->",
        "",
    ]
    return "\n".join(lines)


def _field(text: str, comment: str) -> str:
    return f"{text.ljust(_COLUMN - 1)} # {comment}"


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML); keeps umlauts and „quotes“ readable."""
    return json.dumps(value, ensure_ascii=False)


SKELETON = Path(__file__).parent / "skeleton"


def create_site(directory: Path) -> list[Path]:
    """Copy the skeleton into directory; refuse to overwrite an existing site. Returns the files created."""
    if (directory / "pressekit.toml").exists():
        raise PressekitError(f"{directory / 'pressekit.toml'} exists already; init does not overwrite a site")
    created = []
    for source in sorted(SKELETON.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        target = directory / source.relative_to(SKELETON)
        if target.exists() and target.name == ".gitignore":
            continue  # an existing repository keeps its own ignore list
        if target.exists():
            raise PressekitError(f"{target} exists already; init does not overwrite files")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        created.append(target)
    return created
