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
