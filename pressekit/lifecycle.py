"""Validation of what happens to a release after it is out: corrections, withdrawal, photo expiry and labels.

The front matter fields `corrections: [{date, text}]`, `withdrawn: {date, reason}` and, per photo,
`expires`, `symbolic`, `source` and `photographer`. Called by the release validator, whose error
collection and field readers they use, so every problem is reported with its line like any other.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any, Protocol

from .frontmatter import Node
from .model import DIGITAL_SOURCE_TYPES, Correction, Withdrawal


class _Validator(Protocol):
    """What these checks use of the release validator (`release_fields`): its error collection and field readers."""

    def error(self, line: int, message: str, hint: str | None = None) -> None: ...

    def unknown_keys(self, fields: dict[str, Node], known: tuple[str, ...], where: str) -> None: ...

    def scalar(self, node: Node, name: str) -> str | None: ...

    def text(self, fields: dict[str, Node], name: str, required: bool = False, one_line: bool = False,
             where: str = "", line: int = 1) -> str: ...

    def datetime(self, fields: dict[str, Node], name: str, required: bool = False, where: str = "",
                 line: int = 1) -> tuple[datetime, bool] | None: ...

LIFECYCLE_PHOTO_FIELDS = ("expires", "symbolic", "source", "photographer")
CORRECTION_FIELDS = ("date", "text")
WITHDRAWAL_FIELDS = ("date", "reason")


def check_corrections(v: _Validator, node: Node | None, day: datetime | None) -> tuple[Correction, ...]:
    """`corrections:` as Correction values, oldest first; a date before the release's is an error."""
    if node is None or node.value in (None, ""):
        return ()
    if not isinstance(node.value, list):
        v.error(node.line, "corrections: expected a list of entries starting with '- date: ...'")
        return ()
    out: list[Correction] = []
    for i, item in enumerate(node.value):
        where = f"corrections[{i}]."
        if not isinstance(item.value, dict):
            v.error(item.line, f"corrections[{i}]: expected 'date: ...' and 'text: ...'")
            continue
        v.unknown_keys(item.value, CORRECTION_FIELDS, f"corrections[{i}]: ")
        when = v.datetime(item.value, "date", required=True, where=where, line=item.line)
        text = _required_text(v, item.value, "text", where, item.line, "the corrected fact, as one paragraph")
        if when is not None and day is not None and when[0] < day:
            v.error(item.value["date"].line, f"{where}date: {when[0].isoformat()} is before the release's date "
                    f"{day.isoformat()}", "a correction follows the release; check the date")
            continue
        if when is not None and text:
            out.append(Correction(when[0], text, item.line))
    return tuple(sorted(out, key=lambda c: c.date))


def check_withdrawal(v: _Validator, node: Node | None, day: datetime | None) -> Withdrawal | None:
    """`withdrawn:` as a Withdrawal; it needs a date not before the release's and a reason."""
    if node is None or node.value in (None, ""):
        return None
    if not isinstance(node.value, dict):
        v.error(node.line, "withdrawn: expected 'date: ...' and 'reason: ...' below it")
        return None
    v.unknown_keys(node.value, WITHDRAWAL_FIELDS, "withdrawn: ")
    when = v.datetime(node.value, "date", required=True, where="withdrawn.", line=node.line)
    reason = _required_text(v, node.value, "reason", "withdrawn.", node.line,
                            "say why, e.g. 'Die vermisste Person ist wohlbehalten zurück.'")
    if when is not None and day is not None and when[0] < day:
        v.error(node.value["date"].line, f"withdrawn.date: {when[0].isoformat()} is before the release's date "
                f"{day.isoformat()}", "a withdrawal follows the release; check the date")
        return None
    return Withdrawal(when[0], reason, node.line) if when is not None and reason else None


def check_photo_lifecycle(v: _Validator, fields: dict[str, Node], where: str, line: int,
                          day: datetime | None) -> dict[str, Any]:
    """The photo's `expires`, `symbolic`, `source` and `photographer` as Photo keyword arguments."""
    out: dict[str, Any] = {}
    expires = v.datetime(fields, "expires", where=where, line=line)
    if expires is not None:
        if day is not None and expires[0] <= day:
            v.error(fields["expires"].line, f"{where}expires: {expires[0].isoformat()} is not after the release's "
                    f"date {day.isoformat()}", "give the day the licence or the consent ends")
        out["expires"] = expires[0]
    if (node := fields.get("symbolic")) is not None and (raw := v.scalar(node, where + "symbolic")) is not None:
        if raw.strip().lower() not in ("true", "false"):
            v.error(node.line, f"{where}symbolic: '{raw}' is not true or false")
        out["symbolic"] = raw.strip().lower() == "true"
    if (node := fields.get("source")) is not None and (raw := v.scalar(node, where + "source")) is not None:
        if raw.strip() not in DIGITAL_SOURCE_TYPES:
            close = difflib.get_close_matches(raw.strip(), DIGITAL_SOURCE_TYPES, n=1)
            v.error(node.line, f"{where}source: '{raw}' is not a known source",
                    f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(DIGITAL_SOURCE_TYPES)}")
        else:
            out["source"] = raw.strip()
    photographer = v.text(fields, "photographer", one_line=True, where=where, line=line)
    if photographer:
        out["photographer"] = photographer
    return out


def _required_text(v: _Validator, fields: dict[str, Node], name: str, where: str, line: int, hint: str) -> str:
    """A one-paragraph text that must be given."""
    node = fields.get(name)
    if node is None or node.value in (None, ""):
        v.error(node.line if node else line, f"{where}{name}: is missing", hint)
        return ""
    text = v.text(fields, name, where=where, line=line)
    if "\n\n" in text:
        v.error(node.line, f"{where}{name}: has more than one paragraph; expected one")
        return ""
    return " ".join(text.split())
