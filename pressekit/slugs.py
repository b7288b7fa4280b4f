"""German-aware slugs for ids, tags and heading anchors."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TRANSLIT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue", "ẞ": "ss"}


@lru_cache(maxsize=4096)  # tags are slugified for every teaser of every list page
def slugify(text: str, separator: str = "-") -> str:
    """German-aware slug: ä->ae, ß->ss, lower case, other letters without accents, hyphens."""
    text = "".join(_TRANSLIT.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", separator, text).strip(separator)

