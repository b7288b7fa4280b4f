"""One walk of a folder that stamps its files; for releases/ it also finds every bundle (no parsing: a
build that finds nothing changed runs it and nothing heavier). `cache.tree_stamp` is its digest."""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

FileStamp = tuple[str, int, int, int]  # path, size, mtime_ns, inode


@dataclass(frozen=True)
class TreeScan:
    """One walk of a folder: what the build's input stamp and, for releases/, the parse cache both need.

    Paths are strings: an archive has tens of thousands, and Path objects cost. The bundles are
    worked out from the walk only when asked for (a build that finds nothing changed needs the digest).
    """

    top: str
    digest: str                                                     # of every file's name, size, mtime and inode
    files: dict[str, list[FileStamp]] = field(repr=False)           # folder -> its files
    folders: dict[str, list[str]] = field(repr=False)               # folder -> its subfolders
    linked: dict[str, list[str]] = field(repr=False)                # folder -> its symlinked folders
    indexed: set[str] = field(repr=False)                           # the folders that hold a file index.md

    @property
    def bundles(self) -> dict[str, tuple[FileStamp, ...]]:
        """index.md -> every file in its folder (its subfolders too), sorted by path."""
        return self._walk[0]

    @property
    def ids(self) -> set[str]:
        """The folder name of every bundle, valid or not: the ids releases take (and pages may not)."""
        return {bundle_id(source) for source in self.bundles}

    @property
    def links(self) -> list[str]:
        """Symlinked folders outside bundles: reported as errors, never followed."""
        return self._walk[1]

    @cached_property
    def _walk(self) -> tuple[dict[str, tuple[FileStamp, ...]], list[str]]:
        bundles: dict[str, tuple[FileStamp, ...]] = {}
        links = list(self.linked.get(self.top, ()))
        todo = list(self.folders.get(self.top, ()))
        while todo:
            current = todo.pop()
            if current in self.indexed:
                files = self._files_under(current)
                bundles[current + "/index.md"] = tuple(sorted(files) if len(files) > 1 else files)
                continue
            todo.extend(self.folders.get(current, ()))
            links.extend(self.linked.get(current, ()))
        return dict(sorted(bundles.items())), links

    def _files_under(self, folder: str) -> list[FileStamp]:
        found: list[FileStamp] = []
        todo = [folder]
        while todo:
            current = todo.pop()
            found.extend(self.files.get(current, ()))
            todo.extend(self.folders.get(current, ()))
        return found


def bundle_id(source: str) -> str:
    """The id of the bundle whose index.md is at source: its folder's name."""
    return source.rsplit(os.sep, 2)[-2]


def scan_tree(folder: Path) -> TreeScan:
    """Walk folder once: hidden names are skipped and symlinked folders not followed; a folder holding
    index.md is a bundle (its subfolders are its own files, not bundles).

    Entries are taken in the order the file system lists them: an unchanged folder lists the same way,
    and a folder listed differently at worst costs a build that finds nothing to render.
    """
    top = str(folder)
    found: list[object] = [top]
    files: dict[str, list[FileStamp]] = {}
    folders: dict[str, list[str]] = {}
    linked: dict[str, list[str]] = {}
    indexed: set[str] = set()
    stack = [top]
    while stack:
        current = stack.pop()
        try:
            scan = os.scandir(current)
        except OSError:
            continue
        mine: list[FileStamp] = []
        below: list[str] = []
        with scan:
            for entry in scan:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):  # known from the listing: no stat needed
                    found.append(entry.path)
                    below.append(entry.path)
                    continue
                if entry.is_symlink() and entry.is_dir():
                    linked.setdefault(current, []).append(entry.path)
                elif entry.name == "index.md" and entry.is_file():
                    indexed.add(current)
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError:
                    continue
                stamp = (entry.path, st.st_size, st.st_mtime_ns, st.st_ino)
                found.append(stamp)
                mine.append(stamp)
        files[current] = mine
        if below:
            folders[current] = below
            stack.extend(below)
    digest = hashlib.sha256(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
    return TreeScan(top, digest, files, folders, linked, indexed)
