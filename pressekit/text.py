"""Text rules shared by every reader and writer: forbidden characters, line breaks, German-aware slugs."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .errors import SourceError

# XML 1.0 forbidden characters, C1 controls (Word pastes) and non-characters: never in a source text.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# Every character str.splitlines() breaks a line at: a value holding one could start a new line in a
# crontab, a systemd unit or a mail header.
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")

# Not in a value of one line (a setting, an address, a name, a tag, a line of a schedule): every C0 and C1
# control (tab and line breaks too), the Unicode line separators, the BOM and non-characters.
NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")

_TRANSLIT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue", "ẞ": "ss"}


@lru_cache(maxsize=4096)  # tags are slugified for every teaser of every list page
def slugify(text: str, separator: str = "-") -> str:
    """German-aware slug: ä->ae, ß->ss, lower case, other letters without accents, hyphens."""
    text = "".join(_TRANSLIT.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", separator, text).strip(separator)



def one_line(text: str) -> str:
    """Return text on one line: odd spaces made plain, invisible characters dropped, runs collapsed."""
    return " ".join(_INVISIBLE.sub("", _SPACES.sub(" ", text)).split())


def decode_utf8(raw: bytes, shown: str,
                hint: str = "save the file with UTF-8 encoding") -> tuple[str | None, list[SourceError]]:
    """Decode UTF-8 (a BOM is dropped); a non-UTF-8 file is an error naming the line and the byte."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [SourceError(shown, line, f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})", hint)]
