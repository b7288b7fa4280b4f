"""Progress display for long work: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

Report = Callable[[str, int, int], None]


def interactive() -> bool:
    """True when stderr is a terminal and CI is not set."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress_display(enabled: bool | None = None) -> Iterator[Report]:
    """Yield a callback (stage, done, total); draws a bar on a terminal, else stays quiet."""
    if not (interactive() if enabled is None else enabled):
        yield lambda stage, done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)
        yield report
