"""Sweeps on Dask (SPEC §17): a local cluster by default, or an existing one.

``ras compare`` (variants and frontier rates) and ``ras simulate`` (blocks of draws,
robust margins) hand their tasks to :func:`run_tasks`. A task is a function of ras's
own and plain data (registers, budgets, a scenario): workers build and solve models
themselves and send back plain results; PuLP models never travel. A task whose worker
dies is retried once on another worker and then reported through ``on_crash``; the other
tasks go on. Results come back in the order of the tasks, whatever the number of
workers, so a sweep's output does not depend on where it ran.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ras.errors import InputError, clip
from ras.parallel import (
    _main_hidden,
    children_deaf_to_ctrl_c,
    default_jobs,
    start_resource_tracker,
)
from ras.version import __version__

R = TypeVar("R")
T = TypeVar("T")

#: Seconds to wait for an existing scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 10
#: How often a task may be lost with its worker before it is reported (then not retried).
ALLOWED_FAILURES = 1


#: Set by Ctrl-C during a sweep (see :func:`_ctrl_c_noted`).
_CTRL_C = threading.Event()


@contextlib.contextmanager
def _ctrl_c_noted() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as ever, and is noted too, so that it is not lost.

    Python runs a signal's handler wherever the main thread happens to be. When that is
    inside a garbage collector's callback (Dask's GC diagnostics has one) or a
    finaliser, the KeyboardInterrupt is printed as "Exception ignored" and dropped: the
    run went on waiting for workers the same Ctrl-C had stopped, for two minutes. The
    loop that waits for tasks raises it again (:func:`run_tasks`), and the "Exception
    ignored" report of such a KeyboardInterrupt is not printed.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield  # Ctrl-C is ignored here, or not this thread's to handle
        return

    def noted(signum: int, frame: Any) -> None:
        _CTRL_C.set()
        previous(signum, frame)

    hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        if not isinstance(info.exc_value, KeyboardInterrupt):  # noted: not printed
            hook(info)

    _CTRL_C.clear()
    signal.signal(signal.SIGINT, noted)
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook


def _raise_if_ctrl_c() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C whose own was lost (see above)."""
    if _CTRL_C.is_set():
        _CTRL_C.clear()  # raised once
        raise KeyboardInterrupt


def local_workers(jobs: int | None) -> int:
    """Worker processes of a local cluster: ``jobs``, but at most one per core.

    The tasks are solves, each on one core: more workers only add their start-up (on two
    cores, 8 workers made a 3 s simulation take 16 s, and 64 did not start in 2 minutes).
    """
    return min(jobs, default_jobs()) if jobs else default_jobs()


@contextlib.contextmanager
def sweep_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client: on ``scheduler`` (``tcp://HOST:8786``), else on a local cluster.

    The local cluster has one single-threaded worker process per core (``workers`` to
    choose) and no dashboard; it is closed, with its processes, when the block ends,
    also on Ctrl-C. ``workers=0`` gives no cluster at all (None): :func:`run_tasks` then
    runs the tasks here, one after another.

    Raises:
        InputError: the scheduler cannot be reached (one line, nothing written).
    """
    import dask
    from distributed import Client, LocalCluster
    from distributed.utils import LoopRunner

    settings = {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        # A worker holds only the task it runs, so a worker that dies takes no other
        # task's retry with it.
        "distributed.scheduler.worker-saturation": 1.0,
        "distributed.worker.daemon": False,  # workers may start processes of their own
        "distributed.admin.system-monitor.gil.enabled": False,
    }
    with dask.config.set(settings), _ctrl_c_noted():
        if scheduler:
            _probe(scheduler)
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except ValueError as exc:  # `localhost`, `http://...`: not an address Dask reads
                raise InputError(
                    f"--scheduler {scheduler}: not a Dask scheduler's address; write it as "
                    "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786 (what `dask scheduler` prints)"
                ) from exc
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"cannot reach the Dask scheduler at {clip(scheduler)} "
                    f"({type(exc).__name__}); {_START_ONE}"
                ) from exc
            try:
                with _dask_errors_unlogged():
                    yield client
                    _raise_if_ctrl_c()
            finally:
                with _dask_errors_unlogged(), contextlib.suppress(Exception):
                    client.close()
            return
        if workers == 0:
            yield None
            _raise_if_ctrl_c()
            return
        # The cluster's event loop runs in a thread started with Ctrl-C blocked, and so
        # do the worker processes it spawns: a terminal's Ctrl-C (sent to the whole
        # process group) reaches this thread alone, which closes the cluster. Workers
        # that took it while starting printed tracebacks ("Nanny failed to start").
        # multiprocessing's resource tracker is started first: starting it unblocks
        # SIGINT in the thread that does so.
        start_resource_tracker()
        with children_deaf_to_ctrl_c():
            runner = LoopRunner(asynchronous=False)
            runner.start()
        cluster: LocalCluster | None = None
        local: Client | None = None
        wait = 1.0
        try:
            with _main_hidden(mp.get_context("spawn")):
                cluster = LocalCluster(
                    n_workers=local_workers(workers),
                    threads_per_worker=1,
                    processes=True,
                    # No dashboard; the scheduler's HTTP routes on a free port of this
                    # machine only (by default 8787, and a run beside another cluster
                    # printed "Port 8787 is already in use").
                    dashboard_address="127.0.0.1:0",
                    scheduler_kwargs={"dashboard": False},
                    silence_logs=logging.CRITICAL,
                    loop=runner.loop,
                )
            local = Client(cluster)
            yield local
            _raise_if_ctrl_c()
        except BaseException as exc:
            if cluster is not None:
                _stop_now(cluster)  # Ctrl-C, an error: workers go at once (SPEC §16: 2 s)
            if isinstance(exc, KeyboardInterrupt):
                # A scheduler with millions of tasks to release took over 1 s to let
                # the client go: the whole stop must fit in 2 s.
                wait = 0.2
                # The run ends here: what Dask logs while its cluster is torn down (a
                # closed comm, with its traceback) is not for the user (SPEC §16).
                logging.disable(logging.CRITICAL)
            raise
        finally:
            with contextlib.suppress(Exception):
                if local is not None:
                    local.close(timeout=wait)
            with contextlib.suppress(Exception):
                if cluster is not None:
                    cluster.close(timeout=wait)
            with contextlib.suppress(Exception):
                runner.stop(timeout=wait)


#: Where to start a scheduler, said with every address that cannot be reached.
_START_ONE = "start one with `dask scheduler`, or leave out --scheduler to run here"


def _probe(scheduler: str) -> None:
    """Say at once, in one line, that no Dask scheduler answers at a TCP address.

    Dask tries a refused connection again and again until its timeout (11 s); a
    connection refused, a host nobody knows or a network that cannot be reached is
    known in milliseconds. And where something else listens (the dashboard's port,
    8787, a web server), Dask waits for ever for the scheduler's greeting, or reads the
    reply as a message of exabytes: the scheduler is asked who it is, in at most
    CONNECT_TIMEOUT seconds. Addresses Dask reads otherwise (other protocols, or not an
    address at all) are left to Dask and :func:`sweep_client`.

    Raises:
        InputError: nothing answered as a Dask scheduler.
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, where = parse_address(scheduler)
        if scheme not in ("tcp", "tls"):
            return
        host, port = parse_host_port(where)  # no port: not an address Dask reads either
    except ValueError:
        return

    def unreachable(why: str) -> InputError:
        return InputError(
            f"cannot reach the Dask scheduler at {clip(scheduler)} ({why}); {_START_ONE}"
        )

    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except ConnectionRefusedError as exc:
        raise unreachable("nothing is listening there: the connection was refused") from exc
    except socket.gaierror as exc:
        why = f"no host is known by the name {clip(str(host))!r}: check the spelling"
        raise unreachable(why) from exc
    except TimeoutError as exc:
        raise unreachable(f"no answer in {CONNECT_TIMEOUT} s") from exc
    except OSError as exc:
        raise unreachable(exc.strerror or type(exc).__name__) from exc
    if scheme == "tcp":  # (over TLS the greeting needs the cluster's certificates)
        _greeted(scheduler)


def _greeted(scheduler: str) -> None:
    """Ask the scheduler at ``scheduler`` who it is; a one-line error if it does not say."""
    import asyncio

    from distributed.core import rpc

    async def identity() -> Any:
        async with rpc(scheduler) as scheduler_rpc:
            return await scheduler_rpc.identity()

    answers: list[Any] = []

    def ask() -> None:  # in a thread of its own: the caller may be running a loop (Jupyter)
        try:
            answers.append(asyncio.run(asyncio.wait_for(identity(), CONNECT_TIMEOUT)))
        except Exception as exc:  # TimeoutError, or anything a reply that is not Dask's gives
            answers.append(exc)

    asking = threading.Thread(target=ask, name="ras-scheduler-greeting", daemon=True)
    asking.start()
    asking.join(CONNECT_TIMEOUT + 5)
    answer = answers[0] if answers else None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise InputError(
            f"something answers at {clip(scheduler)}, but not as a Dask scheduler: give the "
            "scheduler's own address (what `dask scheduler` prints, usually port 8786; "
            "8787 is its dashboard)"
        )


def _stop_now(cluster: Any) -> None:
    """Kill a local cluster's worker processes without waiting for them to finish."""
    for nanny in list(getattr(cluster, "workers", {}).values()):
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


#: Seconds a run waits for a cluster with no workers before it stops (SPEC §16).
NO_WORKERS = 120.0
#: How often the workers are counted while nothing finishes, and how often to look.
CHECK_WORKERS = 2.0
POLL = 0.05


def run_tasks(
    client: Any,
    func: Callable[[T], R],
    items: Sequence[T],
    on_crash: Callable[[T, BaseException], R],
    progress: Callable[[int], None] | None = None,
    no_workers: float = NO_WORKERS,
) -> list[R]:
    """``func`` on every item on the cluster; results in the items' order.

    A task whose worker died (twice: it is retried once) or that raised is reported
    by ``on_crash`` and the rest go on; ``progress`` is called with 1 per task done.
    A cluster left with no workers for ``no_workers`` seconds (all died, or none ever
    joined the scheduler) stops the run with one line, instead of waiting for ever.

    Raises:
        InputError: the cluster has had no workers for ``no_workers`` seconds.
    """
    if not items:
        return []
    if client is None:  # no workers (--jobs 0): here, one after another
        out: list[R] = []
        for item in items:
            try:
                out.append(func(item))
            except Exception as exc:
                out.append(on_crash(item, exc))
            if progress:
                progress(1)
        return out
    from distributed import as_completed

    checked_func = functools.partial(_as_version, RAS_VERSION, func)
    futures = client.map(checked_func, list(items), pure=False)
    index = {f.key: n for n, f in enumerate(futures)}
    results: list[Any] = [None] * len(items)
    try:
        done = as_completed(futures)
        checked = time.monotonic()
        without_workers: float | None = None  # since when the cluster has had none
        while not done.is_empty():
            _raise_if_ctrl_c()
            batch = done.next_batch(block=False)
            if not batch:
                time.sleep(POLL)
                now = time.monotonic()
                if now - checked >= CHECK_WORKERS:
                    checked = now
                    if worker_count(client) > 0:
                        without_workers = None
                    elif without_workers is None:
                        without_workers = now
                    elif now - without_workers >= no_workers:
                        raise InputError(
                            f"the Dask cluster has had no workers for {no_workers:.0f} s, "
                            f"with {done.count()} tasks waiting; start workers "
                            "(dask worker SCHEDULER) or run without --scheduler"
                        )
                continue
            for future in batch:
                n = index[future.key]
                try:
                    results[n] = future.result()
                except Exception as exc:  # a lost worker (KilledWorker) or a task that raised
                    unfit = _unfit_worker(exc)
                    if unfit is not None:
                        raise InputError(unfit) from exc
                    if _scheduler_lost(client, exc):
                        raise InputError(
                            f"lost the connection to the Dask scheduler at "
                            f"{clip(str(client.scheduler.address))}: it stopped, or the "
                            "network to it failed; run again when it is back"
                        ) from exc
                    results[n] = on_crash(items[n], exc)
                if progress:
                    progress(1)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            _CTRL_C.clear()  # delivered
        client.cancel(futures)
        raise
    return results


#: The version of ras every worker must run (a constant, so a test can pretend otherwise).
RAS_VERSION = __version__


class OtherVersion(RuntimeError):
    """A worker runs another version of ras than the client (raised on the worker)."""


def _as_version(version: str, func: Callable[[T], R], item: T) -> R:
    """``func(item)`` on a worker that runs ras ``version``; else :class:`OtherVersion`.

    The tasks are ras's own functions, looked up on the worker by name: a worker with
    another version of ras installed would run its own arithmetic, and its results
    would be mixed, unsaid, with those of the rest.
    """
    if __version__ != version:
        raise OtherVersion(f"a worker runs ras {__version__}, and this is ras {version}")
    return func(item)


def _unfit_worker(exc: BaseException) -> str | None:
    """One line on a worker that cannot run ras's tasks as this ras would, else None."""
    if isinstance(exc, OtherVersion):
        return (
            f"{exc}: install ras {RAS_VERSION} on every worker (the same version), or run "
            "without --scheduler"
        )
    if isinstance(exc, AttributeError) and "_as_version" in str(exc):  # an older ras
        return (
            f"a worker runs an older version of ras: install ras {RAS_VERSION} on every "
            "worker (the same version), or run without --scheduler"
        )
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "ras":
        return (
            f"a worker cannot import ras: install ras {RAS_VERSION} where the workers run "
            "(the same version), or run without --scheduler"
        )
    return None


def _scheduler_lost(client: Any, exc: BaseException) -> bool:
    """Whether a task failed because the client lost its scheduler, not on a worker.

    Every task still out is then cancelled ("scheduler-connection-lost"): each was
    reported as a block that could not be evaluated, in two lines of Dask's own.
    """
    from concurrent.futures import CancelledError

    from distributed.comm import CommClosedError

    if isinstance(exc, CommClosedError):  # a result being fetched when it went
        return True
    if not isinstance(exc, CancelledError):
        return False
    reason = getattr(exc, "reason", None)  # distributed >= 2024.12
    return reason == "scheduler-connection-lost" or client.status != "running"


@contextlib.contextmanager
def _dask_errors_unlogged() -> Iterator[None]:
    """Dask's client logs a lost scheduler as an error with its traceback, on stderr.

    ras says what happened in one line (SPEC §16: no traceback); the log is held back
    while the sweep runs on an existing cluster, and let through again after.
    """
    before = logging.root.manager.disable
    logging.disable(max(before, logging.ERROR))
    try:
        yield
    finally:
        logging.disable(before)


def worker_count(client: Any) -> int:
    """The workers a client has (0: none, the tasks run here)."""
    if client is None:
        return 0
    return len(client.scheduler_info().get("workers", {}))
