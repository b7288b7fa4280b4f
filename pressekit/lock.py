"""One build per site at a time: an OS lock on .pressekit/build.lock, released when the process ends."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import PressekitError
from .paths import BUILD_LOCK



@contextmanager
def build_lock(root: Path, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the site's build lock; wait for it (calling on_wait once) or, without wait, raise PressekitError."""
    path = root / BUILD_LOCK
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")
    except OSError as exc:
        raise PressekitError(f"cannot create {BUILD_LOCK}: {exc.strerror}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise PressekitError("another build of this site is running; try again when it has finished") from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock
