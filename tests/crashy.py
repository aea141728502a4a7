"""A reader that kills its process on one file: to test crash recovery."""

from __future__ import annotations

import os
from pathlib import Path


def read_or_crash(path: str) -> str:
    if Path(path).name == "CRASH.xlsx":
        os._exit(17)
    return f"read:{Path(path).name}"


def square_or_crash(n: int) -> int:
    """A task that kills its worker process for 3 (a Dask worker lost mid-task)."""
    if n == 3:
        os._exit(17)
    return n * n
