"""Run a reader over many files in worker processes, surviving a worker that dies.

A crash inside a parser (a segfault, the memory limit) kills one worker and
breaks the pool. The files whose results are already back are kept; the rest
are retried one at a time, each in a fresh process, and a file that kills its
process again is reported as the culprit. The run goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

R = TypeVar("R")
T = TypeVar("T")

#: Address-space limit for each worker (bytes): a hostile file fails one worker, not the machine.
WORKER_MEMORY_LIMIT = 6 * 1024**3


def _limit_memory() -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = (
            WORKER_MEMORY_LIMIT
            if hard == resource.RLIM_INFINITY
            else min(hard, WORKER_MEMORY_LIMIT)
        )
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on every platform
        pass


def default_jobs() -> int:
    """Worker processes to use: one per core the process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _context() -> mp.context.BaseContext:
    if sys.platform.startswith("linux"):
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["ras.io.reader"])
        return ctx
    return mp.get_context("spawn")  # pragma: no cover


def run_parallel(
    func: Callable[[T], R],
    items: Sequence[T],
    on_crash: Callable[[T], R],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """Apply ``func`` to every item in worker processes; results in item order.

    ``on_crash(item)`` makes the result for an item whose worker died twice.
    With one job or one item, work still runs in a worker process (a crash must
    not take the run down), unless ``jobs`` is 0, which runs in this process.
    """
    results: dict[int, R] = {}
    if jobs == 0:
        for i, item in enumerate(items):
            results[i] = func(item)
            if progress:
                progress(1)
        return [results[i] for i in range(len(items))]
    n_jobs = min(jobs or default_jobs(), max(len(items), 1))
    ctx = _context()
    pending = list(range(len(items)))
    if pending:
        with ProcessPoolExecutor(n_jobs, mp_context=ctx, initializer=_limit_memory) as pool:
            futures: dict[Future[R], int] = {pool.submit(func, items[i]): i for i in pending}
            try:
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    if progress:
                        progress(1)
            except BrokenProcessPool:
                for fut, i in futures.items():
                    if i not in results and fut.done() and not fut.cancelled():
                        try:
                            results[i] = fut.result()
                            if progress:
                                progress(1)
                        except BrokenProcessPool:
                            pass
    for i in range(len(items)):
        if i in results:
            continue
        try:
            with ProcessPoolExecutor(1, mp_context=ctx, initializer=_limit_memory) as single:
                results[i] = single.submit(func, items[i]).result()
        except BrokenProcessPool:
            results[i] = on_crash(items[i])
        if progress:
            progress(1)
    return [results[i] for i in range(len(items))]
