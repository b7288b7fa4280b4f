"""Mail header fields: RFC 5322 folding, RFC 2047 encoded words, address parsing and the header guard.

Headers are written here, not folded by the email package: Python 3.11.7 refolds a decoded encoded
word such as `=?UTF-8?Q?=0A?=` into a real line break (CVE-2024-6923). Every value that is not plain
ASCII, or that contains `=?`, is written as RFC 2047 encoded words, and `check_headers` parses every
message back and compares its header set with the intended one before anyone gets to see it.
"""

from __future__ import annotations

import email.errors
import email.parser
import email.policy
import re
from collections.abc import Mapping
from email.headerregistry import (
    AddressHeader,
    HeaderRegistry,
    SingleAddressHeader,
    UnstructuredHeader,
)
from email.utils import formataddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ..errors import PressekitError
from ..text import CONTROL, LINE_BREAKS, one_line

MAX_LINE_OCTETS = 998
_FOLD_AT = 78
_WORD_MAX = 66      # an encoded word fits on a line after "Subject: " (RFC 2047 allows 75)
_EW_MAX = 75
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+")  # atext without "=" and "?": never looks like =?...?=
_Q_LITERAL = re.compile(rb"[A-Za-z0-9!*+/-]")
_PRINTABLE = re.compile(r"[ -~]*")
_UTF8_LOCAL = re.compile("[!-~\u00a0-\U0010ffff]+")  # RFC 6532 UTF8-non-ascii in a dot-atom
_FIELD_NAME = re.compile(r"[!-9;-~]+")


# MailError is defined here, not in mail, because HeaderError is one: mail imports both from here.
class MailError(PressekitError):
    """The e-mail cannot be made (no sender, attachments too large, ...)."""


class HeaderError(MailError):
    """A header value is unusable, or the message parsed back differs from the intended one."""


# --- header values -----------------------------------------------------------


@lru_cache(maxsize=1024)  # the sender is parsed for every message of a build or a send
def parse_address(value: str, what: str, utf8: bool = False) -> tuple[str, str]:
    """Return (display name, addr-spec) of exactly one address, ASCII unless `utf8` (RFC 6532: a non-ASCII
    local part, for a message sent with SMTPUTF8); raise HeaderError otherwise."""
    _check_value(what, value)
    try:
        header = email.policy.default.header_factory("to", value)
        addresses = header.addresses
    except (email.errors.MessageError, IndexError, ValueError):
        addresses = ()
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise HeaderError(f"{what} is not one e-mail address: {value!r}")
    display, addr = addresses[0].display_name, addresses[0].addr_spec
    local, _, domain = addr.rpartition("@")
    if not (_UTF8_LOCAL if utf8 else _PRINTABLE).fullmatch(local) or not _PRINTABLE.fullmatch(domain) or " " in addr:
        raise HeaderError(f"{what}: the address {addr!r} must be plain ASCII" + ("" if utf8 else
                          " (a non-ASCII part before the '@' needs a server with SMTPUTF8)"))
    return one_line(display), addr


def address_field(name: str, display: str, addr: str) -> tuple[str, str, str]:
    """(name, folded raw value, decoded value) of an address header."""
    canonical = _canonical(display, addr)
    if not display:
        return name, addr, canonical
    if _PRINTABLE.fullmatch(display) and "=?" not in display:
        return name, _fold(name, [formataddr((display, addr))]), canonical
    return name, _fold(name, _spaced(_phrase_words(name, display)) + [f" <{addr}>"]), canonical


def _phrase_words(name: str, display: str) -> list[str]:
    """A display name as one encoded word, or as plain atoms and encoded words that never touch.

    Decoders disagree about the space between two encoded words of a name (RFC 2047 drops it, Python's
    address parser keeps it), so two encoded words are never written side by side.
    """
    if len(whole := _q_word(display)) <= _EW_MAX:
        return [whole]
    words: list[str] = []
    run: list[str] = []
    for token in display.split(" ") + [""]:
        if run and (not token or _ATOM.fullmatch(token)):
            if len(word := _q_word(" ".join(run))) > _EW_MAX:
                raise HeaderError(f"{name}: the name {display!r} is too long for a mail header; shorten it")
            words.append(word)
            run = []
        if _ATOM.fullmatch(token):
            words.append(token)
        elif token:
            run.append(token)
    return words


def unstructured_field(name: str, value: str, where: str = "") -> tuple[str, str, str]:
    """(name, folded raw value, value) of a text header: plain ASCII when safe, else encoded words."""
    _check_value(f"{where}: {name}" if where else name, value)
    if _PRINTABLE.fullmatch(value) and "=?" not in value:
        chunks = re.findall(r"\s*\S+", value)
        folded = _fold(name, chunks)
        if "".join(chunks) == value and all(len(line) <= _FOLD_AT for line in f"{name}: {folded}".split("\n")):
            return name, folded, value
    return name, _fold(name, _spaced(encoded_words(value))), value


def ascii_field(name: str, value: str) -> tuple[str, str, str]:
    """(name, folded raw value, value) of a structured extra header such as List-Unsubscribe (ASCII only)."""
    if not _FIELD_NAME.fullmatch(name):
        raise HeaderError(f"{name!r} is not a header name")
    _check_value(name, value)
    if not _PRINTABLE.fullmatch(value):
        raise HeaderError(f"{name}: the value must be plain ASCII: {value!r}")
    return name, _fold(name, re.findall(r"\s*\S+", value)), value


def _check_value(what: str, value: str) -> None:
    if m := LINE_BREAKS.search(value) or CONTROL.search(value):
        raise HeaderError(f"{what}: contains U+{ord(m.group()):04X}; a header value must be a single line "
                          "without control characters")


def encoded_words(text: str) -> list[str]:
    """RFC 2047 Q-encoded words of text, none longer than _WORD_MAX, never splitting a character."""
    words: list[str] = []
    current: list[str] = []
    length = len(_Q_PREFIX) + len(_Q_SUFFIX)
    for ch in text:
        piece = _q_encode(ch)
        if current and length + len(piece) > _WORD_MAX:
            words.append(_Q_PREFIX + "".join(current) + _Q_SUFFIX)
            current, length = [], len(_Q_PREFIX) + len(_Q_SUFFIX)
        current.append(piece)
        length += len(piece)
    return words + [_Q_PREFIX + "".join(current) + _Q_SUFFIX] if current else words


_Q_PREFIX, _Q_SUFFIX = "=?utf-8?q?", "?="


def _q_encode(text: str) -> str:
    # Only the characters RFC 2047 allows in a phrase stay literal, so the word is safe in any header.
    return "".join("_" if b == 0x20 else chr(b) if _Q_LITERAL.fullmatch(bytes([b])) else f"={b:02X}"
                   for b in text.encode("utf-8"))


def _q_word(text: str) -> str:
    return f"{_Q_PREFIX}{_q_encode(text)}{_Q_SUFFIX}"


def _spaced(words: list[str]) -> list[str]:
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _fold(name: str, chunks: list[str]) -> str:
    """Join chunks (each but the first starting with white space), breaking lines before a chunk."""
    lines = [f"{name}: "]
    for i, chunk in enumerate(chunks):
        if i and len(lines[-1]) + len(chunk) > _FOLD_AT:
            lines.append(chunk)
        else:
            lines[-1] += chunk
    return "\n".join(lines)[len(name) + 2:]


def attachment_disposition(filename: str) -> str:
    """The Content-Disposition value of an attachment; a non-ASCII filename as RFC 2231 `filename*`."""
    if _PRINTABLE.fullmatch(filename) and not re.search(r'["\\]', filename):
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quote(filename, safe='')}"


# --- the guard ---------------------------------------------------------------


def check_headers(message: bytes, expected: Mapping[str, str], utf8: bool = False) -> None:
    """Parse the message back; raise HeaderError unless its headers are exactly `expected`, each once.

    `utf8`: the header block is UTF-8 (RFC 6532, sent with SMTPUTF8) and is read back as such."""
    for number, line in enumerate(message.split(b"\r\n"), 1):
        if len(line) > MAX_LINE_OCTETS:
            raise HeaderError(f"line {number} of the message has {len(line)} octets; the limit is {MAX_LINE_OCTETS}")
    head = message.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"  # the body is base64: only the header block matters
    if utf8:
        parsed = email.parser.HeaderParser(policy=_GUARD_POLICY).parsestr(head.decode("utf-8"))
    else:
        parsed = email.parser.BytesHeaderParser(policy=_GUARD_POLICY).parsebytes(head)
    want = {name.lower(): value for name, value in expected.items()}
    found = [name.lower() for name in parsed.keys()]
    problems = [f"unexpected header {name}" for name in sorted(set(found) - set(want))]
    problems += [f"missing header {name}" for name in sorted(set(want) - set(found))]
    problems += [f"header {name} appears {found.count(name)} times" for name in sorted(set(found))
                 if found.count(name) > 1]
    if problems:
        raise HeaderError("the message does not carry the intended headers: " + "; ".join(problems))
    for name, value in want.items():
        actual = _decoded(parsed[name])
        if actual != value:
            raise HeaderError(f"the message's {name} header reads {actual!r}, not {value!r}")


def _guard_registry() -> HeaderRegistry:
    """Address headers parsed as addresses, every other header read as decoded text (cheap)."""
    registry = HeaderRegistry(default_class=UnstructuredHeader, use_default_map=False)
    for name in ("from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to"):
        registry.map_to_type(name, AddressHeader if name != "sender" else SingleAddressHeader)  # type: ignore[arg-type]
    return registry


_GUARD_POLICY = email.policy.default.clone(header_factory=_guard_registry())


def _decoded(header: Any) -> str:
    if hasattr(header, "addresses"):
        return ", ".join(_canonical(a.display_name, a.addr_spec) for a in header.addresses)
    return str(header)


def _canonical(display: str, addr: str) -> str:
    return f"{display} <{addr}>" if display else addr
