"""Run a reader over many files in worker processes, surviving a worker that dies.

A crash inside a parser (a segfault, the memory limit) kills one worker and
breaks the pool. The files whose results are already back are kept; the rest
are retried one at a time, each in a fresh process, and a file that kills its
process again is reported as the culprit. The run goes on.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import FrameType
from typing import TypeVar

from ras.outputs import leave_group

R = TypeVar("R")
T = TypeVar("T")

#: Address-space limit for each worker (bytes): a hostile file fails one worker, not the machine.
WORKER_MEMORY_LIMIT = 6 * 1024**3


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off for a block of bulk work (on again after, as before).

    Scoring and writing a large table makes millions of lists and tuples, none of them
    in cycles; each few hundred set off a collection that looks through all the others
    (a quarter of the CPU of a million-row table). Anything cyclic made meanwhile is
    collected afterwards.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _worker_start() -> None:
    """Each worker: Ctrl-C is the parent's to handle; a memory limit; no stray imports.

    Workers ignore SIGINT, so a Ctrl-C in the terminal (sent to the whole process group)
    reaches only the parent, which stops them itself (see :func:`run_parallel`).
    """
    ignore_ctrl_c()

    leave_group()  # a forked worker writes its outputs itself; the parent commits none
    _limit_memory()


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


def single_threaded() -> bool:
    """Whether this process has one OS thread (so that fork cannot deadlock a child)."""
    if threading.active_count() != 1:
        return False
    try:
        return len(list(Path("/proc/self/task").iterdir())) == 1
    except OSError:  # pragma: no cover - no /proc
        return False


def _context() -> mp.context.BaseContext:
    """Fork where it is safe (Linux, no other threads: fast to start); else forkserver.

    A forkserver or spawned worker is a fresh ``python -c``, which would put the current
    folder first on its import path: a folder named ``ras`` there would shadow ras
    itself. PYTHONSAFEPATH (Python >= 3.11) keeps the current folder off it.
    """
    os.environ["PYTHONSAFEPATH"] = "1"
    if sys.platform.startswith("linux"):
        if single_threaded():
            return mp.get_context("fork")
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["ras.io.reader"])
        return ctx
    return mp.get_context("spawn")  # pragma: no cover


#: The signals that stop a run (Ctrl-C, SIGTERM, a terminal closing): the parent's to
#: handle, held back from children as they start.
_STOPPING = {signal.SIGINT, signal.SIGTERM} | (
    {signal.SIGHUP} if hasattr(signal, "SIGHUP") else set()
)


@contextlib.contextmanager
def children_deaf_to_ctrl_c() -> Iterator[None]:
    """Processes and threads started inside start with Ctrl-C held back.

    A terminal's Ctrl-C goes to the whole process group. A child forked a moment before
    it would get it before it could ignore it (in the fork's own hooks) and print
    "Exception ignored ... KeyboardInterrupt" or a traceback. Here SIGINT is blocked in
    this thread, and so in the threads and processes it starts (they inherit the mask,
    across ``exec`` too): a forked child ignores it and then unblocks it
    (:func:`ignore_ctrl_c`), which drops a Ctrl-C pending since the fork; a thread
    started here, and every process it starts, never receives it. This thread gets its
    Ctrl-C as soon as the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ignore_ctrl_c() -> None:
    """In a child process: Ctrl-C is the parent's to handle; SIGTERM ends the child.

    The parent stops its children itself (see children_deaf_to_ctrl_c).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stop in _STOPPING - {signal.SIGINT}:
        if callable(signal.getsignal(stop)):  # the parent's handler, copied by the fork
            # The child dies of SIGTERM quietly, as a process pool's terminate() asks;
            # the parent cleans up (an ignored SIGHUP, under nohup, stays ignored).
            signal.signal(stop, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, quiet about what it cleans up.

    After a Ctrl-C the tracker removes the named semaphores of the worker processes
    ras killed (:func:`stop_helper_processes`), and warns that they had "leaked" (a
    message for whoever wrote the workers, printed after "interrupted"). It is started
    with that warning ignored; a tracker already running is left as it is.
    """
    from multiprocessing import resource_tracker

    quiet = "ignore:resource_tracker:UserWarning"
    sys.warnoptions.append(quiet)  # read when the tracker's command line is made
    try:
        resource_tracker.ensure_running()
    finally:
        sys.warnoptions.remove(quiet)


@contextlib.contextmanager
def _main_hidden(ctx: mp.context.BaseContext) -> Iterator[None]:
    """While workers start, hide the caller's ``__main__`` from multiprocessing.

    A forkserver or spawned worker runs the parent's main script again before it does
    any work; a script or notebook that calls ras without an ``if __name__ ==
    "__main__":`` guard would then start ras again in every worker (and fail). ras's
    workers only ever run ras's own functions, so they need nothing from ``__main__``:
    with its ``__file__`` and ``__spec__`` hidden, multiprocessing does not import it.
    """
    main = sys.modules.get("__main__")
    if main is None or ctx.get_start_method() == "fork":
        yield
        return
    missing = object()
    saved = {k: getattr(main, k, missing) for k in ("__file__", "__spec__")}
    try:
        if saved["__file__"] is not missing:
            del main.__file__
        main.__spec__ = None
        yield
    finally:
        for key, value in saved.items():
            if value is missing:
                if hasattr(main, key) and key == "__file__":
                    delattr(main, key)
            else:
                setattr(main, key, value)


class _Pool(ProcessPoolExecutor):
    """A process pool that, when the parent is interrupted, kills its workers at once.

    ``ProcessPoolExecutor.__exit__`` waits for running tasks; on Ctrl-C (or any other
    exception) the workers are killed instead and the pool is shut down without
    waiting, so ras exits within a moment and no process outlives it.
    """

    def __init__(self, n_jobs: int, ctx: mp.context.BaseContext) -> None:
        super().__init__(n_jobs, mp_context=ctx, initializer=_worker_start)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool | None:
        if exc_type is None or exc_type is BrokenProcessPool:
            return super().__exit__(exc_type, exc, tb)  # type: ignore[arg-type]
        self.kill_workers()
        return None

    def kill_workers(self) -> None:
        """Kill every worker process and drop the pending work, without waiting."""
        processes = dict(getattr(self, "_processes", None) or {})
        for proc in processes.values():
            try:
                proc.kill()
            except (OSError, AttributeError):  # pragma: no cover - already gone
                pass
        self.shutdown(wait=False, cancel_futures=True)
        for proc in processes.values():
            try:
                proc.join(1)
            except (OSError, AssertionError):  # pragma: no cover
                pass


def _apply_chunk(func: Callable[[T], R], chunk: Sequence[T]) -> list[R]:
    return [func(item) for item in chunk]


def chunk_size(n_items: int, n_jobs: int) -> int:
    """Items per task: a few tasks per worker, at most 64 items each."""
    return max(1, min(64, -(-n_items // (n_jobs * 8))))


def run_parallel(
    func: Callable[[T], R],
    items: Sequence[T],
    on_crash: Callable[[T], R],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """Apply ``func`` to every item in worker processes; results in item order.

    Items go to workers in small chunks. ``on_crash(item)`` makes the result for an
    item whose worker died twice. ``jobs=0`` runs everything in this process.
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
    size = chunk_size(len(items), n_jobs)
    chunks = [list(range(i, min(i + size, len(items)))) for i in range(0, len(items), size)]
    if chunks:
        with _Pool(n_jobs, ctx) as pool:
            with _main_hidden(ctx), children_deaf_to_ctrl_c():  # workers start on submit
                futures: dict[Future[list[R]], list[int]] = {
                    pool.submit(_apply_chunk, func, [items[i] for i in chunk]): chunk
                    for chunk in chunks
                }
            try:
                for fut in as_completed(futures):
                    for i, r in zip(futures[fut], fut.result(), strict=True):
                        results[i] = r
                    if progress:
                        progress(len(futures[fut]))
            except BrokenProcessPool:
                for fut, chunk in futures.items():
                    if chunk[0] in results or not fut.done() or fut.cancelled():
                        continue
                    try:
                        for i, r in zip(chunk, fut.result(), strict=True):
                            results[i] = r
                        if progress:
                            progress(len(chunk))
                    except BrokenProcessPool:
                        pass
    for i in range(len(items)):
        if i in results:
            continue
        try:
            with _Pool(1, ctx) as single:
                with _main_hidden(ctx), children_deaf_to_ctrl_c():
                    future = single.submit(func, items[i])
                results[i] = future.result()
        except BrokenProcessPool:
            results[i] = on_crash(items[i])
        if progress:
            progress(1)
    return [results[i] for i in range(len(items))]


def stop_helper_processes(wait: float | None = None) -> None:
    """Stop multiprocessing's forkserver and resource tracker, so that none outlives ras.

    Both would exit on their own once ras has gone, a moment later; a command that has
    finished (or been interrupted) stops them itself, so that nothing ras started is
    left in its process group (SPEC §16). With ``wait`` (interrupted: this process exits
    next), no process can start from here on, every one ras started is killed, and the
    helpers get that many seconds to stop cleanly (one can wait on a process that is
    still dying) before they are killed too.
    """
    helpers = []
    for module, attr, pid_attr in (
        ("multiprocessing.forkserver", "_forkserver", "_forkserver_pid"),
        ("multiprocessing.resource_tracker", "_resource_tracker", "_pid"),
    ):
        helper = getattr(sys.modules.get(module), attr, None)
        if helper is not None and getattr(helper, "_stop", None) is not None:
            helpers.append((helper, getattr(helper, pid_attr, None)))

    def stop_all() -> None:
        for helper, _ in helpers:
            try:
                helper._stop()
            except Exception:  # already gone, or a Python without this helper
                pass

    if wait is None:
        stop_all()
        return
    deadline = time.monotonic() + wait
    tracker = _hold_process_starts(wait)
    # The tracker is spared: once the killed are gone it removes the named semaphores
    # they held (killed with them, each Ctrl-C of a sweep left eight in /dev/shm).
    _kill_started(spare=getattr(tracker, "_pid", None))
    if tracker is not None:  # stopped here, under the lock that is kept
        helpers = [(h, pid) for h, pid in helpers if h is not tracker]
        _close_tracker(tracker, deadline)
        _unlink_unregistered()
    stopper = threading.Thread(target=stop_all, daemon=True)
    stopper.start()
    stopper.join(max(0.0, deadline - time.monotonic()))
    if stopper.is_alive():
        for _, pid in helpers:
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
    _kill_started()


def _hold_process_starts(wait: float) -> object | None:
    """Take, and keep, the lock every spawned or forkserver process start goes through.

    Dask's nannies start worker processes from threads of their own: one that began
    after the last look for processes to kill outlived ras, importing for a second
    before it saw its parent gone (a Ctrl-C while a cluster started). Each such start
    asks the resource tracker for its descriptor under the tracker's lock first, so
    with the lock held none can begin. The lock is not given back: the process exits.
    Returns the tracker, or None when it is not running or the lock was not had.
    """
    module = sys.modules.get("multiprocessing.resource_tracker")
    tracker = getattr(module, "_resource_tracker", None)
    lock = getattr(tracker, "_lock", None)
    if lock is None or not lock.acquire(timeout=wait):
        return None
    return tracker


def _kill_started(spare: int | None = None) -> None:
    """Kill every process ras started, also one started a moment ago, until none is left.

    A worker forked just before Ctrl-C may not be known to its pool yet; a process whose
    start had passed the tracker's lock appears within a few milliseconds.
    """
    for child in mp.active_children():
        with contextlib.suppress(OSError, AttributeError):
            child.kill()
    killed: set[int] = set()
    quiet = 0
    for _ in range(20):
        found = kill_descendants(spare)  # the killed stay listed until they are reaped
        quiet = 0 if found - killed else quiet + 1
        killed |= found
        if quiet == 3:
            break
        time.sleep(0.01)


def _unlink_unregistered() -> None:
    """Remove the named semaphores this process made but could not register.

    A thread of Dask's (a nanny making a queue for its worker) that made a semaphore
    while ras stopped waits for ever to register it with the resource tracker, whose
    lock ras keeps: the tracker never hears of it, and it would outlive ras in /dev/shm
    (one in a few dozen Ctrl-Cs of a sweep). Such a thread is found waiting in the
    tracker's ``_send``, with the semaphore's name.
    """
    try:
        from _multiprocessing import sem_unlink  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - a platform without named semaphores
        return
    for frame in sys._current_frames().values():
        at: FrameType | None = frame
        while at is not None:
            code = at.f_code
            if code.co_name == "_send" and code.co_filename.endswith("resource_tracker.py"):
                names = at.f_locals
                if names.get("cmd") == "REGISTER" and names.get("rtype") == "semaphore":
                    with contextlib.suppress(OSError, TypeError, ValueError):
                        sem_unlink(names.get("name"))
            at = at.f_back


def _close_tracker(tracker: object, deadline: float) -> None:
    """Stop the resource tracker whose lock this thread holds.

    It cleans up what the killed processes left (named semaphores) and exits; it is
    killed if it has not by ``deadline``.
    """
    fd, pid = getattr(tracker, "_fd", None), getattr(tracker, "_pid", None)
    if fd is None:
        return
    with contextlib.suppress(OSError):
        os.close(fd)
    with contextlib.suppress(AttributeError):
        tracker._fd = None  # type: ignore[attr-defined]
        tracker._pid = None  # type: ignore[attr-defined]
    if not pid:
        return
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        time.sleep(0.01)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def kill_descendants(spare: int | None = None) -> set[int]:
    """Kill every process descended from this one but ``spare`` (on Linux only).

    On Ctrl-C the workers, the forkserver and its children go at once: a process half
    started when the interrupt came is not yet known to any pool, and the forkserver
    lives as long as any of its children does.
    """
    found = _descendants(os.getpid()) - {spare}
    for pid in found:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return found


def interrupt_descendants(name: str) -> int:
    """Send SIGINT (a Ctrl-C) to each process descended from this one called ``name``.

    How many there were. A solver running as a program of its own (CBC) stops at a
    Ctrl-C and writes the best plan it has: a Ctrl-C sent to ras alone (``kill -INT``, a
    job scheduler) passes it on, as a terminal's reaches the whole process group.
    """
    sent = 0
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                os.kill(pid, signal.SIGINT)
                sent += 1
    return sent


def _descendants(me: int) -> set[int]:
    """The processes descended from ``me``, from the kernel's lists of children.

    Only ras's own processes are read, not every process's ``stat``: each read lets
    other threads take the interpreter, and after a Ctrl-C a Dask client's thread kept
    it about 5 ms a time, so reading all of /proc took over a second of the 2 s a
    Ctrl-C has (SPEC §16). Where the kernel keeps no such lists, every process's
    parent is read instead.
    """
    if not Path(f"/proc/{me}/task/{me}/children").exists():
        return _descendants_by_parent(me)
    found: set[int] = set()
    frontier = [me]
    while frontier:
        pid = frontier.pop()
        with contextlib.suppress(OSError, ValueError):  # a process that has just gone
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    for child in map(int, (task / "children").read_text().split()):
                        if child not in found:
                            found.add(child)
                            frontier.append(child)
    return found


def _descendants_by_parent(me: int) -> set[int]:
    """The processes descended from ``me``, from every process's parent in /proc."""
    parents: dict[int, int] = {}
    try:
        entries = [e.name for e in Path("/proc").iterdir() if e.name.isdigit()]
    except OSError:  # pragma: no cover - no /proc
        return set()
    for entry in entries:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {me}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found
