"""OutputFile values and the one place that writes output/."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import PressekitError, SourceError
from .paths import OUTPUT_MARKER, SOURCES

MARKER_TEXT = b"Made by pressekit build; replaced by the next build. Do not edit.\n"


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

    def size(self) -> int:
        """Its size in bytes, without reading a file to copy."""
        return len(self.data) if self.data is not None else self.source.stat().st_size  # type: ignore[union-attr]


@dataclass(frozen=True)
class Producer:
    """What makes one output file, for collision messages: a description and, if any, its place in a source."""

    what: str
    path: str | None = None
    line: int = 1


def find_collisions(claims: Iterable[tuple[str, Producer]]) -> list[SourceError]:
    """One error for every output path that more than one producer makes, at the place a user can rename."""
    first: dict[str, Producer] = {}
    errors = []
    for relpath, producer in claims:
        other = first.setdefault(relpath, producer)
        if other is not producer:
            errors.append(_collision(relpath, other, producer))
    return errors


def _collision(relpath: str, a: Producer, b: Producer) -> SourceError:
    here, there = (b, a) if b.path is not None else (a, b)
    where = f" ({there.path}:{there.line})" if there.path is not None else ""
    return SourceError(here.path or "pressekit.toml", here.line if here.path else 1,
                       f"{here.what} and {there.what}{where} are both output/{relpath}; rename {here.what}")


class OutputError(PressekitError):
    """The output folder cannot be used or written."""


def check_target(root: Path, output: Path, adopt: bool) -> None:
    """Raise OutputError unless output may be replaced by a build of the site at root (both resolved).

    A build replaces its output folder, so the folder must neither be, hold nor lie inside a source,
    and must be new, empty or marked as made by pressekit. `adopt`: a non-empty folder without the
    mark that the build state of this site knows (an older pressekit made it) is marked and used.
    """
    shown = _shown(output, root)
    if output == root or output in root.parents:
        raise OutputError(f"cannot build into {shown}: it holds the site's sources (pressekit.toml, releases/), "
                          "which the build would delete; choose a folder of its own, e.g. output/")
    for name in SOURCES:
        if output == root / name or root / name in output.parents:
            raise OutputError(f"cannot build into {shown}: it lies inside the site's {name}/, "
                              "which the build would change; choose a folder of its own, e.g. output/")
    if (output / "pressekit.toml").exists():
        raise OutputError(f"cannot build into {shown}: it holds a pressekit.toml (a site), which the build would delete")
    if not output.is_dir() or (output / OUTPUT_MARKER).is_file() or not any(output.iterdir()):
        return
    if not adopt:
        raise OutputError(f"cannot build into {shown}: it is not empty and was not made by pressekit build "
                          f"(no {OUTPUT_MARKER} in it); the build replaces the whole folder, so choose a new or empty folder")
    write_marker(output, root)


def write_marker(folder: Path, root: Path) -> None:
    """Mark folder as made by pressekit build."""
    with _writing(root):
        (folder / OUTPUT_MARKER).write_bytes(MARKER_TEXT)


def clear_leftovers(output: Path, root: Path) -> None:
    """Remove the folders a killed build left beside output (known by their mark); raise OutputError for others."""
    for name in (f".{output.name}.new", f".{output.name}.old"):
        _remove_made(output.with_name(name), root)


def prepare_staging(output: Path, root: Path) -> Path:
    """A new, marked folder beside output to render into."""
    clear_leftovers(output, root)
    staging = output.with_name(f".{output.name}.new")
    with _writing(root, staging, output):
        staging.mkdir(parents=True)
        (staging / OUTPUT_MARKER).write_bytes(MARKER_TEXT)
    return staging


def discard_staging(output: Path) -> None:
    """Remove the folder a failed build rendered into (it holds the mark, nothing else is deleted)."""
    shutil.rmtree(output.with_name(f".{output.name}.new"), ignore_errors=True)


def _remove_made(folder: Path, root: Path) -> None:
    if not folder.exists():
        return
    if not (folder / OUTPUT_MARKER).is_file() and any(folder.iterdir()):
        raise OutputError(f"{_shown(folder, root)} is in the way and was not made by pressekit build "
                          f"(no {OUTPUT_MARKER} in it); move or delete it")
    shutil.rmtree(folder)


def apply_files(output: Path, staging: Path, manifest: dict[str, str], sources: dict[str, Path],
                previous: dict[str, str] | None, root: Path) -> list[str] | None:
    """Make output/ hold exactly `manifest` (relpath -> digest); return the files written, None when
    output/ was replaced as a whole.

    Rendered files are in `staging`; `sources` are files copied as they are, into staging first, so a
    full disk fails before output/ is touched. Without a previous manifest the staging folder becomes
    output/ by two renames. With one, only files whose digest changed are replaced (each by an atomic
    rename), so unchanged files keep inode and mtime. Raises OutputError, output/ as it was.
    """
    old = previous if previous is not None and output.is_dir() else None
    changed = list(manifest) if old is None else [rel for rel, d in manifest.items() if old.get(rel) != d]
    with _writing(root, staging, output):
        for relpath in changed:
            if relpath in sources:
                target = staging / relpath
                target.parent.mkdir(parents=True, exist_ok=True)
                _copy(sources[relpath], target)
        if old is None:
            _swap(staging, output)
            return None
        for relpath in changed:
            target = output / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relpath, target)
        for relpath in sorted(set(old) - set(manifest), reverse=True):
            (output / relpath).unlink(missing_ok=True)
            _prune(output / relpath, output)
    return changed


def _swap(staging: Path, output: Path) -> None:
    """Replace output/ by staging/ with two renames; on failure output/ is put back."""
    old = output.with_name(f".{output.name}.old")
    if output.exists():
        output.rename(old)
    try:
        staging.rename(output)
    except OSError:
        if old.exists():
            old.rename(output)
        raise
    shutil.rmtree(old, ignore_errors=True)  # a leftover is marked and removed by the next build


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


@contextmanager
def _writing(root: Path, staging: Path | None = None, output: Path | None = None) -> Iterator[None]:
    """Turn an OSError while writing into OutputError naming the file as the user knows it."""
    try:
        yield
    except OSError as exc:
        raise write_error(exc, root, staging, output) from exc


def write_error(exc: OSError, root: Path, staging: Path | None = None, output: Path | None = None) -> OutputError:
    """`cannot write output/x/index.html: No space left on device`, staging paths shown as output/ paths."""
    name = Path(os.fsdecode(exc.filename)) if exc.filename is not None else (output or root)
    if staging is not None and output is not None and (name == staging or staging in name.parents):
        name = output / name.relative_to(staging)
    reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
    written = staging is None or output is None or output == name or output in name.parents
    return OutputError(f"cannot {'write' if written else 'read'} {_shown(name, root)}: {reason}")


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)
