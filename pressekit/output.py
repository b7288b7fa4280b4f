"""OutputFile values and the one place that writes output/."""

from __future__ import annotations

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
