"""Text rules shared by every reader and writer: forbidden characters, line breaks, German-aware slugs."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# XML 1.0 forbidden characters, C1 controls (Word pastes) and non-characters: never in a source text.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
LINE_BREAKS = re.compile("[\r\n\u2028\u2029\x85\x0b\x0c]")

_TRANSLIT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue", "ẞ": "ss"}


@lru_cache(maxsize=4096)  # tags are slugified for every teaser of every list page
def slugify(text: str, separator: str = "-") -> str:
    """German-aware slug: ä->ae, ß->ss, lower case, other letters without accents, hyphens."""
    text = "".join(_TRANSLIT.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", separator, text).strip(separator)

