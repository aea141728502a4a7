"""ras's version: the one place it is set (``pyproject.toml`` reads it from here).

A constant rather than ``importlib.metadata``: looking the installed version up costs
about 25 ms at every start of ras, more than the rest of ``ras --help``.
"""

from __future__ import annotations

__version__ = "0.1.0"
