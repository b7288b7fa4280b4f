"""The schema of pressekit.toml, derived from the frozen dataclasses the settings are read into.

A dataclass field declared with `setting(...)` is a key of its TOML table: its type and default are
the field's, its TOML name, one-line documentation and checks are in the field's metadata. A field
without it (a contact's key, where [dkim] stands) is not a key. The reader (`config.parse_config`)
checks a table against `keys(cls)`, so a new setting is one field, written once.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

def setting(default: Any, doc: str, *, toml: str = "", required: bool = False, paragraphs: bool = False) -> Any:
    """A dataclass field that is a key of pressekit.toml.

    `toml` names the key when it differs from the field (`from` is a Python keyword); a `required` key
    must be given although it has a default; `paragraphs` allows plain line breaks between paragraphs.
    """
    meta = {"doc": doc, "toml": toml, "required": required, "paragraphs": paragraphs}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Key:
    """One key of a TOML table as the reader checks it."""

    field: str          # the dataclass field
    toml: str           # the key in pressekit.toml
    kind: type          # str, int, float or bool
    default: Any
    doc: str
    required: bool
    paragraphs: bool


def keys(cls: type) -> tuple[Key, ...]:
    """The keys of the TOML table read into dataclass `cls`, in field order."""
    hints = typing.get_type_hints(cls)
    return tuple(Key(f.name, f.metadata["toml"] or f.name, hints[f.name], f.default, f.metadata["doc"],
                     f.metadata["required"], f.metadata["paragraphs"])
                 for f in dataclasses.fields(cls) if "doc" in f.metadata)
