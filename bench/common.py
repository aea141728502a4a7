"""Shared helpers for the benchmarks: generated inputs (cached) and timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


def timed(func: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t0)
    return best, result


def report(
    title: str, baseline: float, parts: dict[str, float], total: float, target: float
) -> None:
    print(f"\n{title}")
    print(f"  baseline                     {baseline:8.2f} s   1.00x")
    for name, secs in parts.items():
        print(f"  {name:<28} {secs:8.2f} s   {secs / baseline:5.2f}x")
    verdict = "OK" if total / baseline <= target else "OVER TARGET"
    print(
        f"  {'whole run (end to end)':<28} {total:8.2f} s   {total / baseline:5.2f}x"
        f"   (target <= {target:g}x: {verdict})"
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for the record."""
    import os

    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def compile_ras() -> None:
    """Write ras's bytecode, as ``pip install .`` does, before whole commands are timed.

    In a checkout installed with ``pip install -e`` (and with PYTHONDONTWRITEBYTECODE
    set, as on this project's machines) every run would compile ras's modules again:
    about 0.1 s of CPU a run (6 % of ``ras score`` over 2,000 workbooks) that an
    installed ras never pays. The baselines' libraries are installed, hence compiled.
    """
    import compileall

    import ras

    compileall.compile_dir(Path(ras.__file__).parent, quiet=1)


def interleaved(
    title: str, baseline: list[str], ras: list[str], runs: int = 3, target: float | None = None
) -> dict[str, float]:
    """Run two whole commands in turn (A B A B ...), each ``runs`` times.

    Prints min and median wall and CPU seconds (user + sys, the whole process tree,
    workers included) and the peak memory of each process tree, then the ratios of the
    medians, and the load average before and after.
    """
    import statistics

    from treemem import measure

    compile_ras()
    print(f"\n{title}  (load average {load_average()})")
    a_runs, b_runs = [], []
    for _ in range(runs):
        a_runs.append(measure(baseline))
        b_runs.append(measure(ras))
    for name, rs in (("baseline", a_runs), ("ras", b_runs)):
        walls = [r["wall"] for r in rs]
        cpus = [r["cpu"] for r in rs]
        print(
            f"  {name:<9} wall min {min(walls):7.2f} median {statistics.median(walls):7.2f} s"
            f"   cpu min {min(cpus):7.2f} median {statistics.median(cpus):7.2f} s"
            f"   peak tree {max(r['peak_mib'] for r in rs):6.0f} MiB"
            f"   exit {','.join(str(int(r['exit'])) for r in rs)}"
        )
    wall = statistics.median(r["wall"] for r in b_runs) / statistics.median(
        r["wall"] for r in a_runs
    )
    cpu = statistics.median(r["cpu"] for r in b_runs) / statistics.median(r["cpu"] for r in a_runs)
    verdict = ""
    if target is not None:
        verdict = f"   (target <= {target:g}x: {'OK' if max(wall, cpu) <= target else 'OVER'})"
    print(f"  ratio     wall {wall:5.2f}x   cpu {cpu:5.2f}x{verdict}")
    print(f"  load average after: {load_average()}")
    return {
        "wall": wall,
        "cpu": cpu,
        "base_cpu": statistics.median(r["cpu"] for r in a_runs),
        "ras_cpu": statistics.median(r["cpu"] for r in b_runs),
    }
