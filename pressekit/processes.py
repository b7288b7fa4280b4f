"""The one start method of every worker pool of pressekit (release parsing, photo variants, page rendering).

multiprocessing is imported when a pool starts: most incremental builds start none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import multiprocessing.context


def pool_context(preload: str) -> multiprocessing.context.BaseContext:
    """The one start method of every worker pool: forkserver with module `preload` loaded once.

    fork is unsafe in a process with threads (`serve`, progress bars); spawn where forkserver is missing.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([preload])
    return context
