"""Domain names as they go out: IDNA 2008 with UTS 46 mapping (the `idna` package).

The standard library's `idna` codec implements IDNA 2003, which maps `straße.de` to `strasse.de`,
a different domain; IDNA 2008 gives `xn--strae-oqa.de`, the domain the editor wrote.
"""

from __future__ import annotations

import idna


def ascii_domain(domain: str) -> str:
    """Return the domain lower-case in punycode (IDNA 2008, UTS 46); raise ValueError saying what is wrong."""
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise ValueError(f"has an invalid domain ({domain!r}: {exc})") from None
