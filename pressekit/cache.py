"""The persistent build cache in `.pressekit/cache/`: digests, named state and input fingerprints.

Everything here is an optimisation: a missing or unreadable cache file means "build it again".
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from . import __version__

# Cached results depend on the code that made them: a new pressekit or Python drops them.
CODE_KEY = f"pressekit {__version__} python {sys.version_info[:2]}"


def digest(*parts: object) -> str:
    """sha256 hex of the parts: bytes as they are, everything else by its repr (unambiguous for tuples)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


class Store:
    """Named pickles in the cache folder, written atomically; unreadable ones count as absent."""

    def __init__(self, folder: Path):
        self.folder = folder

    def load(self, name: str) -> Any:
        try:
            with open(self.folder / f"{name}.pickle", "rb") as fp:
                tag, value = pickle.load(fp)
        except Exception:  # noqa: BLE001 - any damage to a cache file just means a rebuild
            return None
        return value if tag == CODE_KEY else None

    def save(self, name: str, value: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.pickle"
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        with open(temp, "wb") as fp:
            pickle.dump((CODE_KEY, value), fp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)

    def drop(self, name: str) -> None:
        (self.folder / f"{name}.pickle").unlink(missing_ok=True)


def tree_stamp(*folders: Path) -> str:
    """A digest of the names, sizes and modification times of every file under folders."""
    h = hashlib.sha256()
    for folder in folders:
        h.update(str(folder).encode())
        stack = [str(folder)]
        while stack:
            current = stack.pop()
            try:
                scan = os.scandir(current)
            except OSError:
                continue
            with scan:
                entries = sorted(scan, key=lambda e: e.name)
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError:
                    continue
                h.update(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode("utf-8", "surrogateescape"))
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return h.hexdigest()


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of a file, or None when it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def content_digest(*paths: Path) -> str:
    """A digest of the names and bytes of files (missing ones count as empty)."""
    parts: list[object] = []
    for path in paths:
        parts.append(str(path))
        try:
            parts.append(path.read_bytes())
        except OSError:
            parts.append(b"")
    return digest(*parts)
