"""The one start method of every worker pool of pressekit (release parsing, photo variants, page rendering)."""

from __future__ import annotations

import multiprocessing


def pool_context(preload: str) -> multiprocessing.context.BaseContext:
    """The one start method of every worker pool: forkserver with module `preload` loaded once.

    fork is unsafe in a process with threads (`serve`, progress bars); spawn where forkserver is missing.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([preload])
    return context
