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


def write_tree(files: list[OutputFile], output: Path) -> tuple[int, int]:
    """Write files as the new output/, atomically; unchanged files keep their inode and mtime.

    The new tree is staged beside output/ and swapped in with two renames, so a build that
    fails before this point leaves output/ as it was. Returns (written, unchanged).
    """
    seen: set[str] = set()
    for f in files:
        if f.relpath in seen:
            raise ValueError(f"two outputs claim {f.relpath}")
        seen.add(f.relpath)
    output = output.resolve()
    staging = output.with_name(f".{output.name}.new")
    old = output.with_name(f".{output.name}.old")
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    staging.mkdir(parents=True)
    written = unchanged = 0
    for f in files:
        target = staging / f.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        previous = output / f.relpath
        if _same(previous, f):
            os.link(previous, target)
            unchanged += 1
        elif f.source is not None:
            _link_or_copy(f.source, target)
            written += 1
        else:
            target.write_bytes(f.data)  # type: ignore[arg-type]
            written += 1
    if output.exists():
        output.rename(old)
    staging.rename(output)
    if old.exists():
        shutil.rmtree(old)
    return written, unchanged


def _same(previous: Path, f: OutputFile) -> bool:
    try:
        st = previous.stat()
    except FileNotFoundError:
        return False
    if f.source is not None:
        try:
            return os.path.samefile(previous, f.source) or (
                st.st_size == f.source.stat().st_size and previous.read_bytes() == f.source.read_bytes())
        except OSError:
            return False
    return st.st_size == len(f.data) and previous.read_bytes() == f.data  # type: ignore[arg-type]


def _link_or_copy(source: Path, target: Path) -> None:
    if ".pressekit" not in source.parts:  # never link a site's own files: output/ must not alias sources
        shutil.copyfile(source, target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
