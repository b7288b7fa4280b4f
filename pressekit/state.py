"""What the last successful build into one output folder left: enough to redo only what changed.

It is kept in two parts. The *stamp* answers "did anything change?" and is all a build that finds
nothing changed reads: the digest of the inputs, the moments output/ changes by itself, and the
size and mtime of every file written (kept compact: fifty thousand files load in milliseconds).
The *groups* (every output group's key and files) are read only when something is built. Both
carry the id of the build that wrote them; parts of two different builds are never combined.
"""

from __future__ import annotations

import os
import uuid
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .cache import Store
from .model import NEWS_WINDOW

Groups = dict[str, tuple[str, dict[str, str]]]  # group -> (key, {relpath: digest})
ViewKeys = tuple[tuple[Any, ...], tuple[str, str]]  # a release's view inputs, and its page and mail keys


@dataclass(frozen=True)
class Stamp:
    """What output/ and the inputs were after the last build."""

    build: str
    inputs: str                     # digest of every input file's name, size and mtime, and of the code
    now: datetime
    schedule: list[datetime]        # sorted times at which output/ changes by itself (publications …)
    folder: tuple[int, int] | None  # (inode, mtime) of output/
    names: str                      # every file written, one relpath per line
    stats: array                    # type: ignore[type-arg]  # (size, mtime_ns) of each file, in that order

    def files(self) -> list[str]:
        return self.names.split("\n") if self.names else []

    def intact(self, output: Path) -> bool:
        """True when output/ still holds every file as the build left it."""
        if self.folder != dir_stamp(output):
            return False
        prefix, stat, stats = f"{output}{os.sep}", os.stat, self.stats  # os.stat of a str: a Path costs more
        try:
            for n, rel in enumerate(self.files()):
                st = stat(prefix + rel)
                if st.st_size != stats[2 * n] or st.st_mtime_ns != stats[2 * n + 1]:
                    return False
        except OSError:
            return False
        return True

    def unchanged_at(self, now: datetime) -> bool:
        """True when no release goes live (or leaves the news window) between the last build and now."""
        lo, hi = sorted((self.now, now))
        if self.now == now:
            return True
        # a release enters the public set at its time, and the news sitemap until two days later
        shifted = (timedelta(0), NEWS_WINDOW, NEWS_WINDOW + timedelta(seconds=1))
        return not any(bisect_left(self.schedule, lo - d) < bisect_right(self.schedule, hi - d) for d in shifted)


@dataclass(frozen=True)
class Built:
    """Every output group of the last build and each public release's summary."""

    build: str
    groups: Groups
    summaries: dict[str, str]
    views: dict[str, ViewKeys] | None = None  # by release id (None in a state kept before they were)


    def manifest(self) -> dict[str, str]:
        """relpath -> digest of every file of the build."""
        return manifest(self.groups)


def manifest(groups: Groups) -> dict[str, str]:
    return {rel: d for _, files in groups.values() for rel, d in files.items()}


class States:
    """The two parts of one output folder's state in the cache store."""

    def __init__(self, store: Store, name: str):
        self.store, self.name = store, name

    def stamp(self) -> Stamp | None:
        """The stamp of the last build (check `intact` before trusting it)."""
        stamp: Stamp | None = self.store.load(self.name)
        return stamp

    def built(self, stamp: Stamp | None) -> Built | None:
        """The groups of the build that left this stamp."""
        if stamp is None:
            return None
        built: Built | None = self.store.load(self.name + "-groups")
        return built if built is not None and built.build == stamp.build else None

    def drop(self) -> None:
        """Forget the last build (before output/ changes: an interrupted apply must not leave a state that
        claims the old output)."""
        self.store.drop(self.name)
        self.store.drop(self.name + "-groups")

    def save(self, output: Path, inputs: str, now: datetime, schedule: list[datetime], groups: Groups,
             files: dict[str, str], summaries: dict[str, str], views: dict[str, ViewKeys],
             last: tuple[Stamp, Built] | None = None) -> None:
        """Keep this build's state; nothing when output/ cannot be stamped (the next build starts afresh).

        `last`: the state this build started from (output/ was intact then); a file with the digest it had
        there was not written again, and keeps its size and mtime. `files` is `manifest(groups)`.
        """
        build = uuid.uuid4().hex
        names = sorted(files)
        kept = _kept_stats(files, *last) if last is not None else {}
        stats = array("q")
        prefix = f"{output}{os.sep}"
        for rel in names:
            if rel in kept:
                stats.extend(kept[rel])
                continue
            try:
                st = os.stat(prefix + rel)
            except OSError:
                return
            stats.extend((st.st_size, st.st_mtime_ns))
        self.store.save(self.name + "-groups", Built(build, groups, summaries, views))
        self.store.save(self.name, Stamp(build, inputs, now, schedule, dir_stamp(output), "\n".join(names), stats))


def _kept_stats(files: dict[str, str], stamp: Stamp, built: Built) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file whose digest is the one it had in the last build."""
    before, stats = built.manifest(), stamp.stats
    return {rel: (stats[2 * n], stats[2 * n + 1]) for n, rel in enumerate(stamp.files())
            if rel in files and before.get(rel) == files[rel]}


def dir_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns
