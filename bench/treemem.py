"""Peak memory of a command's whole process tree (workers included), sampled.

    python bench/treemem.py -- ras score in/ --table T --out a.xlsx

Runs the command in its own process group and sums the resident memory (RSS) of every
process in the group every 20 ms; prints wall time, CPU time of the tree (user + sys,
children included) and the peak sum. Linux only (reads /proc).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _group_rss(pgid: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            total += int((entry / "statm").read_text().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


def measure(cmd: list[str], interval: float = 0.02) -> dict[str, float]:
    """Run ``cmd``; its wall and CPU seconds and the peak RSS of its process group."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _group_rss(proc.pid))
        time.sleep(interval)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_mib": peak / 2**20, "exit": proc.returncode}


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    r = measure(args)
    print(
        f"exit {r['exit']:.0f}  wall {r['wall']:.2f} s  cpu {r['cpu']:.2f} s  "
        f"peak RSS of the process tree {r['peak_mib']:.0f} MiB"
    )
