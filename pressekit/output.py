"""OutputFile values and the one place that writes output/."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class OutputFile:
    """One file of the build: its path under output/ and either its bytes or a file to copy."""

    relpath: str
    data: bytes | None = None
    source: Path | None = None

    def __post_init__(self) -> None:
        p = PurePosixPath(self.relpath)
        if p.is_absolute() or ".." in p.parts or not p.parts or "\\" in self.relpath:
            raise ValueError(f"output path leaves output/: {self.relpath!r}")
        if (self.data is None) == (self.source is None):
            raise ValueError("an OutputFile has either data or a source")

    def read(self) -> bytes:
        return self.data if self.data is not None else self.source.read_bytes()  # type: ignore[union-attr]


def apply_files(output: Path, staging: Path, manifest: dict[str, str], sources: dict[str, Path],
                previous: dict[str, str] | None) -> tuple[int, int]:
    """Make output/ hold exactly `manifest` (relpath -> digest); return (written, unchanged).

    Rendered files are in `staging`; `sources` are files copied as they are. Without a previous
    manifest the staging folder becomes output/ by two renames. With one, only files whose digest
    changed are replaced (each by an atomic rename), so unchanged files keep inode and mtime.
    """
    if previous is None or not output.is_dir():
        for relpath, source in sources.items():
            target = staging / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(source, target)
        _swap(staging, output)
        return len(manifest), 0
    changed = [rel for rel, d in manifest.items() if previous.get(rel) != d]
    for relpath in changed:
        target = output / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if relpath in sources:
            temp = target.with_name(f".{target.name}.new")
            temp.unlink(missing_ok=True)
            _copy(sources[relpath], temp)
            os.replace(temp, target)
        else:
            os.replace(staging / relpath, target)
    for relpath in sorted(set(previous) - set(manifest), reverse=True):
        (output / relpath).unlink(missing_ok=True)
        _prune(output / relpath, output)
    return len(changed), len(manifest) - len(changed)


def _swap(staging: Path, output: Path) -> None:
    """Replace output/ by staging/ with two renames."""
    old = output.with_name(f".{output.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        output.rename(old)
    staging.rename(output)
    if old.exists():
        shutil.rmtree(old)


def _prune(path: Path, top: Path) -> None:
    """Remove the empty folders above a removed file, up to top."""
    folder = path.parent
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _copy(source: Path, target: Path) -> None:
    # Never a hard link: output/ must alias neither a site's own files nor the build cache, whose
    # entries may be damaged in place and are then made again, never published.
    shutil.copyfile(source, target)
