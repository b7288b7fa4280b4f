"""Checking what people type: addresses with email-validator, names that cannot break a header, known topics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from ..recipients import check_name, normalize_address

MAX_FIELD = 200


@dataclass(frozen=True)
class FieldError:
    """A problem with one form field, in German, for the page (and in English for the office's commands)."""

    field: str
    message: str


def check_address(raw: str) -> tuple[str | None, str | None]:
    """(normalized address, None) or (None, what is wrong in German)."""
    raw = raw.strip()
    if not raw:
        return None, "Bitte geben Sie Ihre E-Mail-Adresse an."
    if len(raw) > 254:
        return None, "Die E-Mail-Adresse ist zu lang."
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
        return normalize_address(checked.normalized), None
    except (EmailNotValidError, ValueError):
        return None, "Bitte geben Sie eine gültige E-Mail-Adresse an, zum Beispiel name@redaktion.de."


def check_text(field: str, label: str, value: str) -> tuple[str, FieldError | None]:
    """A name or medium: one line, no characters that could break a header, at most 200 characters."""
    value = " ".join(value.split())
    if len(value) > MAX_FIELD:
        return value, FieldError(field, f"{label} darf höchstens {MAX_FIELD} Zeichen lang sein.")
    if check_name(value):
        return value, FieldError(field, f"{label} darf keine Zeichen wie \" < > @ ; \\ enthalten.")
    return value, None


def check_topics(chosen: Iterable[str], known: tuple[str, ...]) -> tuple[tuple[str, ...], FieldError | None]:
    """The chosen topics in the site's order; an unknown one is an error (a stale or forged form)."""
    wanted = {c.casefold() for c in chosen}
    picked = tuple(t for t in known if t.casefold() in wanted)
    if len(picked) != len(wanted):
        return picked, FieldError("themen", "Bitte wählen Sie nur Themen aus der Liste.")
    return picked, None
