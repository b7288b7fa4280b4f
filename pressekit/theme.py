"""Where the default theme lives."""

from __future__ import annotations

from pathlib import Path


def theme_dir() -> Path:
    """The default theme: packaged as pressekit/theme in a wheel, the repository's templates/ otherwise."""
    packaged = Path(__file__).parent / "theme"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"
