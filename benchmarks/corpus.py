"""Write a deterministic pressekit site of N releases for benchmarks.

    python benchmarks/corpus.py --out /tmp/corpus [--count 10000] [--photos none|small|large] [--seed 1]

The site is the archive of the fictional press office of the Kreis Brunnental: a
`pressekit.toml` shaped like the repository's own, and N release bundles
`releases/<YYYY-MM-DD>-<slug>/index.md` valid against SPEC section 2. Each release has
300-800 words of German text (umlauts, ß, „Anführungszeichen“, paragraphs, `##`
headings, bullet lists, links), 1-4 of 30 tags and a date between 2006-01-01 and
2026-10-31, so that every release is public with `--now 2026-11-25T12:00:00+01:00`.
A third of them carry 1-3 photos with caption, credit and alt text: copies (hard
links where possible) of a pool of 20 JPEGs drawn once with Pillow, 640x427
(`small`) or 3000x2000 (`large`). The same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

FIRST_DAY = date(2006, 1, 1)
LAST_DAY = date(2026, 10, 31)
TZ = ZoneInfo("Europe/Berlin")
POOL_SIZE = 20
MIN_WORDS, MAX_WORDS = 300, 800
PHOTO_SIZES = {"small": (640, 427), "large": (3000, 2000)}
OFFICE = "Kreis Brunnental"

# --- word lists ---------------------------------------------------------------

TAGS = [
    "Verwaltung", "Verkehr", "Umwelt", "Gesundheit", "Soziales", "Bildung", "Kultur", "Wirtschaft",
    "Ländlicher Raum", "Jugend", "Senioren", "Sport", "Tourismus", "Feuerwehr", "Rettungsdienst",
    "Bauen", "Digitalisierung", "Klimaschutz", "Abfallwirtschaft", "Straßenbau", "Veterinärwesen",
    "Verbraucherschutz", "Integration", "Ehrenamt", "Kreistag", "Finanzen", "Schulen", "Naturschutz",
    "Bevölkerungsschutz", "Gleichstellung",
]
PLACES = [
    "Brunnental", "Mühlhausen am Bach", "Großenried", "Steinbrück", "Lindenbach", "Hohenwiese",
    "Bärenfels", "Ölmühle", "Kirchheim", "Schönau", "Weißenstein", "Rüdesfeld", "Tannhöfe",
    "Oberdüssel", "Fürstenau", "Kältersbach", "Grünwalde", "Neuhäusel", "Sülzbach", "Eichenhöhe",
]
FIRST_NAMES = [
    "Jürgen", "Sören", "Björn", "Käthe", "Jörg", "Günther", "Bärbel", "Anja", "Matthias", "Miriam",
    "Thomas", "Özlem", "Katharina", "Stefan", "Ulrike", "Lukas", "Hannelore", "Niklas", "Zoë", "René",
]
LAST_NAMES = [
    "Müller", "Schäfer", "Köhler", "Weißenborn", "Brückner", "Hößle", "Krüger", "Vogelsang", "Tiedemann",
    "Osterkamp", "Fröhlich", "Größer", "Lüdecke", "Baumgärtner", "Wendeler", "Roloff", "Düsterhöft",
    "Schröder", "Jäger", "Kösters",
]
ROLES = [
    ("Landrätin", "Dr. Katharina Wendeler"), ("Kreisdirektor", "Stefan Roloff"),
    ("Dezernentin", "Ulrike Brückner"), ("Amtsleiter", "Jörg Lüdecke"),
    ("Kreisbrandmeister", "Günther Schäfer"), ("die Leiterin des Gesundheitsamtes", "Dr. Miriam Osterkamp"),
    ("der Kämmerer", "Sören Fröhlich"), ("die Klimaschutzmanagerin", "Özlem Krüger"),
    ("der Leiter des Jugendamtes", "Niklas Köhler"), ("Kreistagsvorsitzende", "Bärbel Düsterhöft"),
]
WEEKDAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember"]

# Topic: (tag, title templates, subjects (nominative noun phrases), things for lists, heading words)
TOPICS = {
    "Verkehr": (
        ["{ort}: Neuer Radweg an der Kreisstraße {k} freigegeben",
         "Sanierung der K {k} zwischen {ort} und {ort2} beginnt im {monat}",
         "Straßenverkehrsamt verlängert Öffnungszeiten in {ort}",
         "Busverbindung {ort}–{ort2}: Takt wird ab {monat} dichter"],
        ["der neue Radweg", "die Sanierung der Kreisstraße", "die Ortsumgehung", "der Kreisverkehr am Ortseingang",
         "das neue Busangebot", "die Brücke über den Sülzbach"],
        ["Vollsperrung zwischen den Einmündungen", "Umleitung über die Landesstraße", "neue Fahrbahndecke aus Asphalt",
         "breitere Bankette und Schutzplanken", "Querungshilfe für Fußgängerinnen und Fußgänger",
         "Haltestellen mit barrierefreiem Einstieg", "zusätzliche Fahrten am Wochenende"],
    ),
    "Gesundheit": (
        ["Gesundheitsamt rät zu Vorsicht: {thema} in {ort}",
         "Impfsprechstunden in {ort} und {ort2} im {monat}",
         "{zahl} Proben ohne Befund: Trinkwasser in {ort} einwandfrei",
         "Hitzeschutz: Gesundheitsamt gibt Tipps für ältere Menschen"],
        ["das Gesundheitsamt", "die Impfsprechstunde", "der Hitzeaktionsplan", "die Schuleingangsuntersuchung",
         "die Trinkwasserkontrolle", "das Bürgertelefon"],
        ["über den Tag verteilt ausreichend trinken", "Impfpass und Versichertenkarte mitbringen",
         "Räume morgens und abends lüften", "bei Fieber die Hausärztin oder den Hausarzt anrufen",
         "Kinder niemals im geparkten Auto lassen", "Termine auch ohne Anmeldung möglich"],
    ),
    "Bildung": (
        ["Berufskolleg {ort} erhält {zahl} neue Fachräume",
         "Ausbildungsmesse „Zukunft {ort}“ zieht {zahl} Jugendliche an",
         "Förderschule in {ort}: Erweiterungsbau nach den Sommerferien bezugsfertig",
         "Schulentwicklungsplan bis {jahr} vorgestellt"],
        ["das Berufskolleg", "der Erweiterungsbau", "die Ausbildungsmesse", "der Schulentwicklungsplan",
         "das Medienzentrum", "die Ganztagsbetreuung"],
        ["zwölf neue Fachräume für Metall- und Elektrotechnik", "digitale Tafeln in allen Klassen",
         "eine Mensa mit 180 Plätzen", "barrierefreie Zugänge und ein Aufzug", "Werkstätten für die Pflegeausbildung",
         "Lernräume für Gruppenarbeit"],
    ),
    "Umwelt": (
        ["Blühstreifen an Kreisstraßen: {zahl} Kilometer für Insekten",
         "Naturschutzgebiet bei {ort} wird um {zahl} Hektar größer",
         "Abfallkalender {jahr} ab sofort online",
         "Klimaschutzkonzept: Kreis will bis {jahr} klimaneutral sein"],
        ["das Klimaschutzkonzept", "die untere Naturschutzbehörde", "der Abfallkalender", "die Streuobstwiese",
         "das Förderprogramm für Solaranlagen", "die Renaturierung des Mühlbachs"],
        ["heimische Wildblumen und Gräser", "Nistkästen für Fledermäuse und Vögel", "Photovoltaik auf Kreisgebäuden",
         "Sammelstellen für Grünschnitt", "Beratung für Hauseigentümerinnen und -eigentümer",
         "Schutz der Feuchtwiesen am Bachlauf"],
    ),
    "Soziales": (
        ["Pflegestützpunkt in {ort} öffnet im {monat}",
         "Kreis verdoppelt Zuschuss für Tafeln in {ort} und {ort2}",
         "Ehrenamtskarte: {zahl} Engagierte ausgezeichnet",
         "Seniorenberatung künftig auch in {ort}"],
        ["der Pflegestützpunkt", "die Ehrenamtskarte", "die Seniorenberatung", "das Jobcenter",
         "die Schuldnerberatung", "der Sozialpsychiatrische Dienst"],
        ["Beratung ohne Termin am Dienstagvormittag", "Hausbesuche nach Vereinbarung",
         "Hilfe bei Anträgen auf Pflegegrad und Wohngeld", "Ermäßigungen in Bädern und Museen",
         "Gesprächsgruppen für pflegende Angehörige", "Vermittlung von Nachbarschaftshilfe"],
    ),
    "Kultur": (
        ["Kulturpreis des Kreises geht an „{verein}“",
         "Kreisarchiv zeigt Ausstellung über {jubilaeum} Jahre {ort}",
         "Sommerkonzerte im Schlosspark {ort}: Programm steht fest",
         "Museum in {ort} erhält {zahl} historische Fotografien"],
        ["das Kreisarchiv", "der Kulturpreis", "die Ausstellung", "das Heimatmuseum", "die Musikschule",
         "die Bücherei im Kreishaus"],
        ["Führungen jeden ersten Sonntag im Monat", "freier Eintritt für Kinder und Jugendliche",
         "Lesungen mit Autorinnen und Autoren aus der Region", "digitalisierte Kirchenbücher seit 1650",
         "Konzerte bei jedem Wetter im Innenhof", "Werkstattgespräche mit Künstlerinnen und Künstlern"],
    ),
    "Wirtschaft": (
        ["Gründerpreis: {zahl} Bewerbungen aus dem Kreisgebiet",
         "Gewerbegebiet {ort}-Süd: erste Betriebe ziehen ein",
         "Breitbandausbau in {ort} und {ort2} abgeschlossen",
         "Wirtschaftsförderung bilanziert {zahl} neue Arbeitsplätze"],
        ["die Wirtschaftsförderung", "das Gewerbegebiet", "der Breitbandausbau", "der Gründerpreis",
         "das Technologiezentrum", "die Fachkräfteinitiative"],
        ["Glasfaseranschlüsse für 4.200 Haushalte", "Beratung für Gründerinnen und Gründer",
         "Flächen für Handwerk und Logistik", "Kooperation mit der Hochschule", "Förderung für Dorfläden",
         "Messestand auf der Landesgewerbeschau"],
    ),
    "Feuerwehr": (
        ["Neues Löschfahrzeug für die Feuerwehr {ort}",
         "Kreisfeuerwehrtag in {ort}: {zahl} Einsatzkräfte zeigen ihr Können",
         "Warntag: Sirenen heulen am {wochentag} im ganzen Kreis",
         "Rettungswache {ort} nach Umbau wieder in Betrieb"],
        ["die Feuerwehr", "der Rettungsdienst", "die Kreisleitstelle", "der Katastrophenschutz",
         "die neue Rettungswache", "das Löschfahrzeug"],
        ["Sirenen in allen Ortsteilen", "Warn-App auf dem Smartphone installieren", "Notvorrat für zehn Tage",
         "Rauchmelder in Schlaf- und Kinderzimmern", "Atemschutzübung im Übungshaus",
         "Fahrzeughalle mit sechs Stellplätzen"],
    ),
}
VEREINE = ["Bühne Mühlental", "Chor Großenried", "Heimatverein Bärenfels", "Theater Ölmühle",
           "Kunstverein Schönau", "Jugendorchester Weißenstein"]

LEADS = [
    "{Subjekt} in {ort} ist ab sofort {zustand}: {rolle} {person} hat am {wochentag}, {tag}. {monat}, "
    "gemeinsam mit Vertreterinnen und Vertretern der Städte und Gemeinden den Startschuss gegeben.",
    "Gute Nachrichten für {ort} und {ort2}: {subjekt} ist {zustand}, wie {amt} am {wochentag} mitteilte.",
    "Nach {zahl} Monaten Vorbereitung ist es so weit: {subjekt} in {ort} ist {zustand}.",
    "Der Kreis {kreis} investiert {betrag} Euro in {subjekt_akk}; den größten Teil übernimmt das Land.",
]
ZUSTAENDE = ["fertig", "gestartet", "in Betrieb", "freigegeben", "für alle geöffnet", "einsatzbereit"]
SENTENCES = [
    "Die Kosten liegen bei rund {betrag} Euro, davon trägt das Land {prozent} Prozent.",
    "Rund {zahl} Bürgerinnen und Bürger haben sich im vergangenen Jahr an der Beteiligung beteiligt.",
    "Die Arbeiten sollen bis Ende {monat} {jahr_next} abgeschlossen sein, wenn das Wetter mitspielt.",
    "Schon {jahr_alt} hatte der Kreistag beschlossen, {subjekt_akk} Schritt für Schritt auszubauen.",
    "Fragen beantwortet das Bürgertelefon montags bis freitags von 8 bis 16 Uhr.",
    "In {ort2} und {ort3} sind ähnliche Vorhaben bereits in der Planung.",
    "Die Verwaltung rechnet damit, dass sich die Wartezeiten um rund {prozent} Prozent verkürzen.",
    "Größere Einschränkungen für Anwohnerinnen und Anwohner sind nicht zu erwarten.",
    "Für Rückfragen steht die Fachabteilung im Kreishaus an der Hauptstraße {k} zur Verfügung.",
    "Insgesamt waren {zahl} Beschäftigte aus fünf Fachbereichen an der Vorbereitung beteiligt.",
    "Das Vorhaben ist Teil des Programms „{kreis} {jahr_next}“, das der Kreistag einstimmig verabschiedet hat.",
    "Die Ergebnisse fließen in den Bericht ein, den die Verwaltung im {monat} dem Fachausschuss vorlegt.",
    "Wer nicht persönlich kommen kann, erledigt vieles inzwischen auch über das Serviceportal des Kreises.",
    "Besonders gefragt waren die Angebote am späten Nachmittag und am Samstagvormittag.",
    "Die Straßenmeisterei hat {zahl} junge Bäume gepflanzt, überwiegend Feldahorn und Winterlinde.",
    "Mit dem Ergebnis zeigte sich auch die Verwaltungsspitze der Gemeinde {ort2} sehr zufrieden.",
    "„So etwas hätten wir uns schon früher gewünscht“, sagte {vorname} {nachname} aus {ort3} am Rande der Veranstaltung.",
    "Bereits im ersten Monat wurden mehr als {zahl} Anträge gestellt, deutlich mehr als erwartet.",
    "Die Öffnungszeiten bleiben unverändert: montags bis freitags von 7.30 bis 12.30 Uhr, donnerstags zusätzlich bis 17.30 Uhr.",
    "Gefördert wird das Projekt aus Mitteln des Bundes und der Europäischen Union.",
    "Künftig sollen die Daten jährlich veröffentlicht werden, damit die Öffentlichkeit die Entwicklung verfolgen kann.",
    "Ältere Menschen, die Hilfe beim Ausfüllen der Formulare brauchen, können sich an die Bürgerbüros wenden.",
    "Auch die Schulen und Kindertagesstätten im Kreisgebiet wurden frühzeitig informiert.",
    "Der Fachausschuss hatte sich in seiner Sitzung im {monat} ausführlich mit dem Thema beschäftigt.",
    "Für die Umsetzung sind weitere {zahl_klein} Stellen in der Verwaltung vorgesehen.",
    "Das Angebot ist kostenlos; eine Anmeldung ist nicht nötig.",
    "Die Zahl der Anfragen ist gegenüber dem Vorjahr um {prozent} Prozent gestiegen.",
    "Ein Großteil der Maßnahmen lässt sich ohne Sperrungen umsetzen, nur an drei Tagen wird es eng.",
    "Anregungen nimmt die Verwaltung bis zum {tag}. {monat} schriftlich oder per E-Mail entgegen.",
]
QUOTES = [
    "„Das ist ein wichtiger Schritt für die Menschen in {ort}“, sagte {rolle} {person}. „Wir haben lange "
    "darauf hingearbeitet, und ich danke allen, die mitgeholfen haben.“",
    "„Wer hier lebt, merkt den Unterschied jeden Tag“, betonte {rolle} {person}. „Genau dafür sind wir als "
    "Kreisverwaltung da.“",
    "„Ohne das große ehrenamtliche Engagement in {ort} wäre das nicht möglich gewesen“, sagte {vorname} "
    "{nachname} vom Förderverein. „Jetzt müssen wir dranbleiben.“",
    "„Wir haben die Hinweise aus der Bürgerschaft ernst genommen und den Plan an {zahl_klein} Stellen "
    "geändert“, erklärte {rolle} {person}.",
]
HEADINGS = ["So geht es weiter", "Was sich ändert", "Zahlen und Fakten", "Hintergrund", "Termine",
            "Wer hilft weiter?", "Kosten und Förderung", "Stimmen aus {ort}", "Tipps für Bürgerinnen und Bürger",
            "Blick nach vorn"]
LIST_INTROS = ["Die wichtigsten Punkte im Überblick:", "Das Angebot umfasst unter anderem:",
               "Zu beachten ist Folgendes:", "Geplant sind:"]
LINK_SENTENCES = [
    "Alle Informationen stehen auf der Internetseite des Kreises unter [{linktext}](https://www.example.org/{pfad}).",
    "Weitere Details und Unterlagen gibt es im [Serviceportal](https://www.example.org/service/{pfad}?ort={ortslug}).",
    "Der vollständige Bericht steht als [PDF zum Herunterladen](https://www.example.org/dokumente/{pfad}.pdf) bereit.",
    "Termine lassen sich auch online über <https://www.example.org/termine/{pfad}> buchen.",
]
LINK_TEXTS = ["Bürgerservice & Beratung", "Häufige Fragen", "Karte der Maßnahmen", "Förderrichtlinie",
              "Übersicht aller Termine"]
CAPTIONS = [
    "{rolle} {person} (M.) informierte sich am {wochentag} in {ort} über den Stand der Arbeiten.",
    "Freuen sich über den gelungenen Auftakt: {vorname} {nachname} (l.) und {rolle} {person} (r.) in {ort}.",
    "Blick auf {subjekt_akk} in {ort}: Die Arbeiten liegen im Zeitplan.",
    "Gut besucht: Rund {zahl} Interessierte kamen zur Informationsveranstaltung nach {ort}.",
]
ALTS = [
    "Mehrere Personen stehen vor einem Gebäude und halten eine große Schere über ein rotes Band.",
    "Eine breite Straße mit frischem Asphalt führt zwischen grünen Feldern auf einen Ort zu.",
    "Zwei Menschen schauen gemeinsam auf einen ausgebreiteten Plan auf einem Tisch.",
    "Eine Gruppe von Menschen sitzt in Stuhlreihen in einem hellen Saal und hört einer Rednerin zu.",
    "Ein rotes Fahrzeug steht vor einer Halle mit geöffneten Toren.",
]


@dataclass
class ReleaseText:
    """One generated release before it is written: front matter fields and body."""

    id: str
    title: str
    front: list[str]
    body: str
    photos: list[str] = field(default_factory=list)


# --- text -------------------------------------------------------------------


class Writer:
    """Draws German text from the word lists with one seeded random generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.decks: dict[str, list[str]] = {}

    def slots(self, topic: str, day: date) -> dict[str, str]:
        r = self.rng
        places = r.sample(PLACES, 3)
        rolle, person = r.choice(ROLES)
        subject = r.choice(TOPICS[topic][1])
        return {
            "ort": places[0], "ort2": places[1], "ort3": places[2], "ortslug": slugify(places[0]),
            "rolle": rolle, "person": person, "vorname": r.choice(FIRST_NAMES), "nachname": r.choice(LAST_NAMES),
            "subjekt": subject, "Subjekt": capitalised(subject), "subjekt_akk": accusative(subject),
            "zustand": r.choice(ZUSTAENDE), "amt": r.choice(["die Kreisverwaltung", "der zuständige Fachbereich", "die Pressestelle"]),
            "wochentag": WEEKDAYS[day.weekday()], "tag": str(day.day), "monat": MONTHS[day.month - 1],
            "jahr": str(day.year + r.randint(2, 10)), "jahr_next": str(day.year + 1),
            "jahr_alt": str(day.year - r.randint(2, 12)), "jubilaeum": str(r.choice([50, 75, 100, 125, 150, 200])),
            "zahl": f"{r.randint(12, 2400):,}".replace(",", "."), "zahl_klein": r.choice(["zwei", "drei", "vier", "fünf"]),
            "betrag": f"{r.randint(2, 95) * 10_000:,}".replace(",", "."), "prozent": str(r.randint(5, 90)),
            "k": str(r.randint(1, 40)), "kreis": OFFICE.split()[-1], "thema": r.choice(["Blaualgen", "Zecken", "Hitze", "Masern", "Norovirus"]),
            "verein": r.choice(VEREINE), "linktext": r.choice(LINK_TEXTS),
            "pfad": slugify(subject) + "-" + str(r.randint(1, 999)),
        }

    def fill(self, template: str, slots: dict[str, str]) -> str:
        """The template with the release's slots, numbers and names drawn afresh for each sentence."""
        r = self.rng
        fresh = {"zahl": f"{r.randint(12, 2400):,}".replace(",", "."), "prozent": str(r.randint(5, 90)),
                 "betrag": f"{r.randint(2, 95) * 10_000:,}".replace(",", "."), "k": str(r.randint(1, 40)),
                 "vorname": r.choice(FIRST_NAMES), "nachname": r.choice(LAST_NAMES)}
        return template.format(**{**slots, **fresh})

    def draw(self, deck: str, source: list[str]) -> str:
        """The next item of a per-release shuffled deck, so that a release repeats nothing too soon."""
        cards = self.decks.get(deck)
        if not cards:
            cards = self.decks[deck] = self.rng.sample(source, len(source))
        return cards.pop()

    def paragraph(self, slots: dict[str, str], sentences: int) -> str:
        return " ".join(self.fill(self.draw("s", SENTENCES), slots) for _ in range(sentences))

    def bullets(self, topic: str) -> str:
        items = self.rng.sample(TOPICS[topic][2], self.rng.randint(3, 5))
        return "\n".join(f"- {item}" for item in items)

    def body(self, topic: str, day: date, slots: dict[str, str], target_words: int) -> str:
        r = self.rng
        self.decks = {}
        blocks = [self.fill(r.choice(LEADS), slots) + " " + self.paragraph(slots, r.randint(1, 3)),
                  self.fill(self.draw("q", QUOTES), slots)]
        headings = r.sample(HEADINGS, len(HEADINGS))
        words = sum(len(b.split()) for b in blocks)
        while words < target_words:
            kind = r.random()
            if kind < 0.25 and headings:
                block = "## " + self.fill(headings.pop(), slots)
            elif kind < 0.40:
                block = self.draw("l", LIST_INTROS) + "\n\n" + self.bullets(topic)
            elif kind < 0.50:
                block = self.paragraph(slots, r.randint(1, 2)) + " " + self.fill(self.draw("a", LINK_SENTENCES), slots)
            elif kind < 0.58:
                block = self.fill(self.draw("q", QUOTES), slots)
            else:
                block = self.paragraph(slots, r.randint(2, 5))
            if words + len(block.split()) > MAX_WORDS - 25:  # room for the closing link sentence
                break
            blocks.append(block)
            words += len(block.split())
        blocks.append(self.fill(self.draw("a", LINK_SENTENCES), slots))
        return "\n\n".join(blocks) + "\n"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def accusative(phrase: str) -> str:
    """'der neue Radweg' -> 'den neuen Radweg' (good enough for the article and one adjective)."""
    words = phrase.split()
    if words[0] != "der":
        return phrase
    words[0] = "den"
    if len(words) > 2 and words[1].endswith("e"):
        words[1] += "n"
    return " ".join(words)


_TRANSLIT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"}


def slugify(text: str) -> str:
    """German-aware slug, like pressekit's: ä->ae, ß->ss, lower case, hyphens."""
    text = "".join(_TRANSLIT.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def short_slug(title: str, limit: int = 60) -> str:
    slug = slugify(title)
    if len(slug) <= limit:
        return slug
    return slug[:limit].rsplit("-", 1)[0]


def yaml_quote(text: str) -> str:
    """A double-quoted YAML scalar (titles contain ':' and quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def release_days(count: int, rng: random.Random) -> list[date]:
    """count days spread evenly over FIRST_DAY..LAST_DAY, a little jittered, oldest first."""
    span = (LAST_DAY - FIRST_DAY).days
    days = []
    for i in range(count):
        offset = int(i * span / max(count, 1)) + rng.randint(0, max(0, span // max(count, 1) - 1))
        days.append(FIRST_DAY + timedelta(days=min(offset, span)))
    return days


def timestamp(day: date, rng: random.Random) -> str:
    """A date, or (for about half) a local date-time with the right Berlin offset."""
    if rng.random() < 0.5:
        return day.isoformat()
    moment = datetime(day.year, day.month, day.day, rng.randint(8, 16), rng.choice([0, 15, 30, 45]), tzinfo=TZ)
    return moment.isoformat()


def make_release(n: int, day: date, writer: Writer, used: set[str], with_photos: bool) -> ReleaseText:
    r = writer.rng
    topic = r.choice(list(TOPICS))
    slots = writer.slots(topic, day)
    title = writer.fill(r.choice(TOPICS[topic][0]), slots)
    base = f"{day.isoformat()}-{short_slug(title)}"
    rid, k = base, 2
    while rid in used:
        rid, k = f"{base}-{k}", k + 1
    used.add(rid)
    others = [t for t in TAGS if t != topic]
    tags = [topic] + r.sample(others, r.randint(0, 3))
    front = [f"title: {yaml_quote(title)}", f"date: {timestamp(day, r)}"]
    if r.random() < 0.2:
        front.append(f"subtitle: {yaml_quote(writer.fill(r.choice(SENTENCES), slots).rstrip('.'))}")
    if r.random() < 0.3:
        front.append(f"dateline: {slots['ort']}")
    if r.random() < 0.05:
        later = datetime(day.year, day.month, day.day, 9, 0, tzinfo=TZ) + timedelta(days=1)
        front.append(f"updated: {later.isoformat()}")
    front.append("tags: [" + ", ".join(tags) + "]")
    if topic == "Gesundheit":
        front.append("contact: gesundheitsamt")
    body = writer.body(topic, day, slots, r.randint(MIN_WORDS + 10, MAX_WORDS - 40))
    photos: list[str] = []
    if with_photos:
        front.append("photos:")
        for i in range(r.randint(1, 3)):
            name = f"foto-{i + 1}.jpg"
            photos.append(name)
            front += [f"  - file: {name}",
                      f"    caption: {yaml_quote(capitalised(writer.fill(writer.draw('c', CAPTIONS), slots)))}",
                      f"    credit: {slots['vorname']} {slots['nachname']}/ {OFFICE}",
                      f"    alt: {yaml_quote(writer.draw('t', ALTS))}"]
    return ReleaseText(rid, title, front, body, photos)


# --- photos -----------------------------------------------------------------


def make_photo_pool(folder: Path, size: tuple[int, int], seed: int) -> list[Path]:
    """Draw POOL_SIZE distinct JPEGs (sky, field, a few shapes, grain) once; reuse them when present."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    pool = []
    for i in range(POOL_SIZE):
        path = folder / f"pool-{w}x{h}-{seed}-{i:02d}.jpg"
        pool.append(path)
        if path.exists():
            continue
        rng = random.Random(seed * 1000 + i)
        sky = tuple(rng.randint(90, 200) for _ in range(3))
        ground = tuple(rng.randint(30, 150) for _ in range(3))
        image = Image.new("RGB", (w, h), sky)
        horizon = int(h * rng.uniform(0.4, 0.7))
        gradient = Image.linear_gradient("L").resize((w, h - horizon))
        image.paste(Image.composite(Image.new("RGB", gradient.size, ground),
                                    Image.new("RGB", gradient.size, tuple(c // 2 for c in ground)), gradient),
                    (0, horizon))
        draw = ImageDraw.Draw(image)
        for _ in range(rng.randint(4, 9)):
            x, y = rng.randint(0, w), rng.randint(0, h)
            s = rng.randint(w // 20, w // 5)
            colour = tuple(rng.randint(0, 255) for _ in range(3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + s, y + s * 2 // 3), fill=colour)
        # Grain, so that the JPEGs have the size and decoding cost of photographs, not of flat drawings.
        grain = Image.effect_noise((w, h), 60).convert("RGB")
        Image.blend(image, grain, 0.12).save(path, "JPEG", quality=85)
    return pool


def place_photo(source: Path, target: Path) -> None:
    """Hard-link the pool file into the bundle (copy across file systems)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


# --- the site ---------------------------------------------------------------

CONFIG = '''# A benchmark corpus written by benchmarks/corpus.py: the press office of the
# fictional {office}. Names and numbers are invented (telephone numbers from the
# range 0221 4710 000-999 that the Bundesnetzagentur keeps free for examples).

[site]
title = "Pressemitteilungen des Kreises Brunnental"
organisation = "{office}"
base_url = "https://presse.example/"
language = "de"
timezone = "Europe/Berlin"
description = "Meldungen, Fotos und Termine der Kreisverwaltung Brunnental für Presse und Öffentlichkeit"
dateline = "Brunnental"

[texts]
photo_notice = "Die im Presse-Service angebotenen Fotos dürfen nur mit Fotonachweis und nur im Zusammenhang mit der Pressemitteilung verwendet werden, zu der sie veröffentlicht wurden. Für jede weitere Nutzung klären Sie die Nutzungsrechte bitte selbst."
reuse = "Alle Texte und Fotos dürfen unter Angabe der Quelle frei veröffentlicht werden, über Belegexemplare freuen wir uns."
membership = "Die Pressestelle \\" {office}\\" ist Mitglied beim Presse-Service kommunal [ www.presse-service.example]. Dort finden Sie Meldungen weiterer Pressestellen."

[boilerplate]
heading = "Die Kreisverwaltung Brunnental im Überblick"
text = "Die Kreisverwaltung Brunnental mit rund 1.400 Beschäftigten ist für rund 300.000 Einwohnerinnen und Einwohner in 14 Städten und Gemeinden da. Sie ist unter anderem für Ordnung und Verkehr, Gesundheit, Bauen, Kreisstraßen, Umwelt, Jugend, Schule und Soziales zuständig."

[contacts.pressestelle]
label = "Pressestelle"
name = "Käthe Schäfer"
phone = "0221/4710400"
email = "pressestelle@presse.example"

[contacts.gesundheitsamt]
label = "Gesundheitsamt"
name = "Dr. Miriam Osterkamp"
phone = "0221/4710410"
email = "gesundheitsamt@presse.example"

[rights.press]
label = "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung"
copyright = "© {office}"
url = "https://presse.example/nutzungsbedingungen/"

[photos]
variants = [
  {{ name = "thumb", width = 400,  credit = "burn" }},
  {{ name = "web",   width = 1200, credit = "burn" }},
  {{ name = "print", width = 3000, credit = "metadata" }},
]

[feeds]
items = 50

[email]
from = "Pressestelle {office} <pressestelle@presse.example>"
layout = "presse-service"
attach_photos = false

[send]
rate = 60
suppress = "abgemeldet.txt"
unsubscribe_mailto = "mailto:pressestelle@presse.example?subject=Abmelden"

[smtp]
host = "localhost"
port = 25
starttls = false
username = ""
password_env = "PRESSEKIT_SMTP_PASSWORD"
'''


def write_corpus(out: Path, count: int, photos: str = "small", seed: int = 1) -> list[ReleaseText]:
    """Write the site into out (its releases/ replaced) and return what was written."""
    rng = random.Random(seed)
    writer = Writer(rng)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pressekit.toml").write_text(CONFIG.format(office=OFFICE), encoding="utf-8")
    (out / "abgemeldet.txt").write_text("", encoding="utf-8")
    releases_dir = out / "releases"
    if releases_dir.exists():
        shutil.rmtree(releases_dir)
    releases_dir.mkdir()
    pool = make_photo_pool(out / ".photo-pool", PHOTO_SIZES[photos], seed) if photos != "none" else []
    used: set[str] = set()
    written = []
    for n, day in enumerate(release_days(count, rng)):
        with_photos = bool(pool) and n % 3 == 0
        release = make_release(n, day, writer, used, with_photos)
        folder = releases_dir / release.id
        folder.mkdir()
        text = "---\n" + "\n".join(release.front) + "\n---\n" + release.body
        (folder / "index.md").write_text(text, encoding="utf-8")
        for name in release.photos:
            place_photo(pool[rng.randrange(len(pool))], folder / name)
        written.append(release)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="number of releases (default 10000)")
    parser.add_argument("--out", type=Path, required=True, help="the site folder to write")
    parser.add_argument("--photos", choices=["none", "small", "large"], default="small",
                        help="photos for a third of the releases: none, small 640x427 or large 3000x2000")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same corpus)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    start = time.perf_counter()
    written = write_corpus(args.out, args.count, args.photos, args.seed)
    photos = sum(len(r.photos) for r in written)
    print(f"wrote {len(written)} releases ({photos} photos, {args.photos}) into {args.out} "
          f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
