"""The editors' list (`editors.csv`) and the suppression list, validated completely before anything is sent.

A recipient list is a UTF-8 CSV file with a header row naming the columns `email`, `name` and the
optional `tags` (several tags separated by `;` or, quoted, `,`). Every problem is a `SourceError` at `path:line`;
duplicates (compared case-insensitively) are merged with a warning.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .addresses import ascii_domain
from .errors import SourceError
from .text import NOT_IN_LINE, decode_utf8

COLUMNS = ("email", "name", "tags")
MAX_NAME = 200

# RFC 5322 dot-atom (no quoted local parts, no comments); non-ASCII letters pass here and are
# checked against the server's SMTPUTF8 support later (RFC 6531).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]"
_LOCAL = re.compile(rf"{_ATEXT}+(\.{_ATEXT}+)*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Characters that could end a quoted display name or smuggle a second address into To.
_NAME_FORBIDDEN = re.compile(r'["<>@;\\]')


@dataclass(frozen=True)
class Recipient:
    """One editor: the address as it goes out (domain in punycode), display name, tags, source line."""

    address: str
    name: str = ""
    tags: tuple[str, ...] = ()
    line: int = 0

    @property
    def key(self) -> str:
        """The address compared case-insensitively: the ledger's and the suppression list's key."""
        return address_key(self.address)

    @property
    def needs_smtputf8(self) -> bool:
        """True when the local part is not ASCII, so the server must offer SMTPUTF8."""
        return not self.address.isascii()

    def wants(self, release_tags: Iterable[str]) -> bool:
        """True when the recipient has no tags or shares one with the release."""
        if not self.tags:
            return True
        mine = {t.casefold() for t in self.tags}
        return any(t.casefold() in mine for t in release_tags)


def address_key(address: str) -> str:
    """Return the address case-folded: duplicates and suppressions compare by this key."""
    return address.casefold()


def normalize_address(raw: str) -> str:
    """Return `local@domain` with the domain lower-case punycode; raise ValueError saying what is wrong."""
    if raw != raw.strip() or not raw:
        raise ValueError("is empty" if not raw.strip() else "has spaces around it")
    if NOT_IN_LINE.search(raw) or any(c.isspace() for c in raw):
        raise ValueError("contains a space or line break")
    if raw.count("@") != 1:
        raise ValueError("needs exactly one '@'")
    local, domain = raw.split("@")
    if not _LOCAL.fullmatch(local):
        raise ValueError(f"has an invalid part before the '@' ({local!r})")
    if len(local.encode("utf-8")) > 64:
        raise ValueError("has more than 64 bytes before the '@'")
    ascii_domain = _punycode(domain)
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"has an invalid domain ({domain!r})")
    address = f"{local}@{ascii_domain}"
    if len(address.encode("utf-8")) > 254:
        raise ValueError("is longer than 254 bytes")
    return address


def _punycode(domain: str) -> str:
    return ascii_domain(domain)


def check_name(name: str) -> str | None:
    """Return what is wrong with a display name (header injection, length), or None."""
    if NOT_IN_LINE.search(name):
        return "contains a line break or control character (that could add a header)"
    if m := _NAME_FORBIDDEN.search(name):
        return f"contains {m.group()!r}, which could smuggle an address into the To header"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    return None


def load_recipients(path: Path, shown: str) -> tuple[list[Recipient], list[SourceError]]:
    """Read and validate the whole list; return the recipients (duplicates merged) and every problem.

    Problems with `warning=True` (merged duplicates) do not stop a send; any other problem does.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [SourceError(shown, 1, f"cannot read the recipient list: {exc.strerror or exc}")]
    text, errors = decode_utf8(raw, shown, "save the list as CSV UTF-8")
    if text is None:
        return [], errors
    rows, errors = _read_rows(text, shown)
    recipients = [r for r in (_recipient(row, line, shown, errors) for line, row in rows) if r]
    return _merge_duplicates(recipients, shown, errors), errors


def _read_rows(text: str, shown: str) -> tuple[list[tuple[int, dict[str, str]]], list[SourceError]]:
    """Split the CSV into (line, {column: value}); the header decides the columns."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # German Excel writes ';'
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    errors: list[SourceError] = []
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    start = 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = _check_header(fields, shown, line, errors)
                if header is None:
                    return [], errors
                continue
            if len(fields) > len(header):
                errors.append(SourceError(shown, line, f"{len(fields)} fields, but the header names {len(header)}",
                                          'put a name that contains the separator in double quotes: "Redaktion, Ort"'))
                continue
            rows.append((line, dict(zip(header, [f.strip() for f in fields]))))
    except csv.Error as exc:
        errors.append(SourceError(shown, start, f"not valid CSV: {exc}"))
    if header is None and not errors:
        errors.append(SourceError(shown, 1, "the list is empty", f"the first line names the columns: {','.join(COLUMNS)}"))
    return rows, errors


def _check_header(fields: list[str], shown: str, line: int, errors: list[SourceError]) -> list[str] | None:
    names = [f.strip().lower() for f in fields]
    unknown = [n for n in names if n not in COLUMNS]
    if "email" not in names or unknown or len(set(names)) != len(names):
        what = f"unknown column {unknown[0]!r}" if unknown else "the header must name each column once, email first"
        errors.append(SourceError(shown, line, f"{what}; expected the columns {', '.join(COLUMNS)} (tags optional)",
                                  "the first line is the header, e.g. email,name,tags"))
        return None
    return names


def _recipient(row: dict[str, str], line: int, shown: str, errors: list[SourceError]) -> Recipient | None:
    ok = True
    try:
        address = normalize_address(row.get("email", ""))
    except ValueError as exc:
        errors.append(SourceError(shown, line, f"email {row.get('email', '')!r} {exc}",
                                  "one plain address per line, like redaktion@zeitung.de"))
        ok = False
    name = row.get("name", "")
    if problem := check_name(name):
        errors.append(SourceError(shown, line, f"name {name!r} {problem}"))
        ok = False
    tags = tuple(t.strip() for t in re.split(r"[;,]", row.get("tags", "")) if t.strip())
    if any(NOT_IN_LINE.search(t) for t in tags):
        errors.append(SourceError(shown, line, "tags contain a line break or control character"))
        ok = False
    return Recipient(address, name, tags, line) if ok else None


def _merge_duplicates(recipients: list[Recipient], shown: str, errors: list[SourceError]) -> list[Recipient]:
    """Keep the first line of each address; later lines add their tags and a warning."""
    merged: dict[str, Recipient] = {}
    for r in recipients:
        first = merged.get(r.key)
        if first is None:
            merged[r.key] = r
            continue
        errors.append(SourceError(shown, r.line, f"{r.address} is already on line {first.line}; merged into one recipient",
                                  warning=True))
        # No tags means "every release": that wins over a tag list.
        tags = () if not first.tags or not r.tags else tuple(dict.fromkeys(first.tags + r.tags))
        merged[r.key] = Recipient(first.address, first.name or r.name, tags, first.line)
    return list(merged.values())


def load_suppressed(path: Path, shown: str) -> tuple[set[str], list[SourceError]]:
    """Read the suppression list (one address a line, `#` comments); return the keys and every problem.

    A missing file is an error: a configured suppression list that is not there must not go unnoticed.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return set(), [SourceError(shown, 1, "the suppression list ([send] suppress) does not exist",
                                   "create it (one address a line) or remove [send] suppress")]
    except (OSError, UnicodeDecodeError) as exc:
        return set(), [SourceError(shown, 1, f"cannot read the suppression list: {exc}")]
    keys: set[str] = set()
    errors: list[SourceError] = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            keys.add(address_key(normalize_address(entry)))
        except ValueError as exc:
            errors.append(SourceError(shown, number, f"{entry!r} {exc}"))
    return keys, errors


class Suppressions:
    """The suppression list during a run: read again before a message when the file's mtime or size changed.

    Addresses only accumulate: one read once in this run stays suppressed even if a later read (of a file
    being saved, say) lacks it. Problems in a file changed during the run do not stop it; the rest is read.
    """

    def __init__(self, path: Path | None, shown: str = ""):
        self.path, self.shown = path, shown
        self.keys: set[str] = set()
        self._stamp: tuple[int, int] | None = None

    def load(self) -> list[SourceError]:
        """Read the file now; return its problems."""
        if self.path is None:
            return []
        self._stamp = _stamp(self.path)
        keys, problems = load_suppressed(self.path, self.shown)
        self.keys |= keys
        return problems

    def current(self) -> set[str]:
        """Return the suppressed keys, reading the file again only when it has changed."""
        if self.path is not None and _stamp(self.path) != self._stamp:
            self.load()
        return self.keys


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
