"""The persistent build cache in `.pressekit/cache/`: digests, named state and input fingerprints.

Everything here is an optimisation: a missing, unreadable or damaged cache file means "build it
again", never a failed build and never a published file. Every entry carries the sha256 of its
bytes: sealed entries in a header line (`seal`/`unseal`), published files (photo variants, ZIPs)
in their name (`named_digest`), and both are checked before an entry is used.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import os
import pickle
import sys
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import __version__
from .errors import PressekitError
from .paths import STATE_DIR
from .scan import scan_tree


def _source_digest() -> str:
    """A digest of pressekit's own source files (3 ms): caches and build states made by other code of the same
    version (another checkout, an edited install) are never read as this code's, whose formats may differ."""
    package = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode("utf-8", "surrogateescape") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


# Cached results depend on the code that made them: other code or another Python drops them.
CODE_KEY = f"pressekit {__version__} {_source_digest()} python {sys.version_info[:2]}"


def digest(*parts: object) -> str:
    """sha256 hex of the parts: bytes as they are, everything else by its repr (unambiguous for tuples)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


_SEAL = b"pressekit-cache sha256="
_SEAL_LENGTH = len(_SEAL) + 64 + 1


def seal(payload: bytes) -> bytes:
    """Return `payload` behind a header line holding its sha256, for `unseal` to check."""
    return _SEAL + hashlib.sha256(payload).hexdigest().encode("ascii") + b"\n" + payload


def unseal(data: bytes) -> bytes | None:
    """Return the payload of sealed `data`; None when it is truncated, garbled or not sealed at all."""
    payload = data[_SEAL_LENGTH:]
    if data[:len(_SEAL)] != _SEAL or data[_SEAL_LENGTH - 1:_SEAL_LENGTH] != b"\n":
        return None
    return payload if hashlib.sha256(payload).hexdigest().encode("ascii") == data[len(_SEAL):_SEAL_LENGTH - 1] else None


def read_sealed(path: Path) -> bytes | None:
    """Return the checked payload of the sealed file at `path`; None when it is missing or damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return unseal(data)


class CacheWriteError(PressekitError):
    """A file under .pressekit/ cannot be written (disk full, no permission): `cannot write .pressekit/...: why`."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file, so that a reader never sees half a file;
    raise CacheWriteError naming the file when the disk is full or the folder not writable."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise CacheWriteError(f"cannot write {shown_path(path)}: {exc.strerror or exc}") from None


def shown_path(path: Path) -> str:
    """A path under a site's .pressekit/ as the user knows it (`.pressekit/cache/...`); others in full."""
    parts = path.parts
    state = STATE_DIR.name
    return "/".join(parts[parts.index(state):]) if state in parts else str(path)


def write_sealed(path: Path, payload: bytes) -> None:
    """Write `payload` sealed (see `seal`) to `path`, atomically."""
    write_atomic(path, seal(payload))


def named_digest(data: bytes) -> str:
    """Return the content digest a cached published file (variant, ZIP) carries in its name."""
    return hashlib.sha256(data).hexdigest()[:32]


def file_digest(path: Path) -> str:
    """Return `named_digest` of the file at `path`, read in chunks (OSError when unreadable)."""
    h = hashlib.sha256()
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:32]


class Store:
    """Named sealed pickles in the cache folder, written atomically; damaged or unreadable ones count as absent."""

    def __init__(self, folder: Path):
        self.folder = folder

    def load(self, name: str) -> Any:
        """Return the value saved under `name` by this pressekit; None when absent, damaged or older."""
        payload = read_sealed(self.folder / f"{name}.pickle")
        if payload is None:
            return None
        try:
            tag, value = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - a checked payload that still fails (a removed class) means a rebuild
            return None
        return value if tag == CODE_KEY else None

    def save(self, name: str, value: Any, reducers: Mapping[type, Callable[[Any], Any]] | None = None) -> None:
        """Save `value` under `name`, sealed and atomically; `reducers` pickle objects of those types their way."""
        self.save_pickled(name, pickled(value, reducers))

    def save_pickled(self, name: str, payload: bytes) -> None:
        """Save what `pickled` made of a value under `name`, as `save` does."""
        write_sealed(self.folder / f"{name}.pickle", payload)

    def drop(self, name: str) -> None:
        (self.folder / f"{name}.pickle").unlink(missing_ok=True)


def pickled(value: Any, reducers: Mapping[type, Callable[[Any], Any]] | None = None) -> bytes:
    """`value` as `Store.save` keeps it: pickled with the code key, which `Store.load` checks."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    if reducers:
        pickler.dispatch_table = {**copyreg.dispatch_table, **reducers}
    pickler.dump((CODE_KEY, value))
    return buffer.getvalue()


def tree_stamp(*folders: Path) -> str:
    """A digest of the names, sizes, modification times and inodes of every file under folders (`scan`)."""
    return digest(*(scan_tree(folder).digest for folder in folders))


def shard_of(key: str, shards: int) -> int:
    """Which of `shards` cache files keeps the entry of key (stable across runs, unlike `hash`)."""
    return zlib.crc32(key.encode("utf-8", "surrogateescape")) % shards


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
