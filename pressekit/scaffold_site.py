"""`pressekit init`: copy the skeleton site into a new folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import PressekitError

SKELETON = Path(__file__).parent / "skeleton"


def create_site(directory: Path) -> list[Path]:
    """Copy the skeleton into directory; refuse to overwrite an existing site. Returns the files created."""
    if (directory / "pressekit.toml").exists():
        raise PressekitError(f"{directory / 'pressekit.toml'} exists already; init does not overwrite a site")
    created = []
    for source in sorted(SKELETON.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        target = directory / source.relative_to(SKELETON)
        if target.exists() and target.name == ".gitignore":
            continue  # an existing repository keeps its own ignore list
        if target.exists():
            raise PressekitError(f"{target} exists already; init does not overwrite files")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        created.append(target)
    return created
