from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ras.io.templates import example_table, example_table_path
from ras.models.table import PointTable
from tests.helpers import soffice

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", help="also run the tests marked slow (CI runs them)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests marked slow, unless asked for: ``--slow``, a ``-m`` of one's own
    (``-m slow`` runs only them), or tests named (``file.py::test``, or ``-k``)."""
    named = any("::" in arg for arg in config.args) or config.option.keyword
    if config.getoption("--slow") or config.option.markexpr or named:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


@dataclass(frozen=True)
class Demo:
    """A finished ``ras demo``: its folder and what it printed."""

    folder: Path
    output: str  # what it printed (on stderr: stdout is for --json)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One ``ras demo`` as a new user runs it (the command, default size), shared by the
    slow tests that read its outputs. It takes about half a minute; a test that changes
    anything works on a copy."""
    where = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "ras", "demo", "--out", "ras-demo"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return Demo(where / "ras-demo", done.stdout + done.stderr)


@pytest.fixture(scope="session")
def adult() -> PointTable:
    return example_table("adult-social-care")


@pytest.fixture(scope="session")
def adult_path() -> Path:
    return example_table_path("adult-social-care")


@pytest.fixture(scope="session")
def mh() -> PointTable:
    return example_table("mental-health-phb")


@pytest.fixture
def need_soffice() -> str:
    exe = soffice()
    if exe is None:
        if os.environ.get("RAS_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is required here (RAS_REQUIRE_LIBREOFFICE is set)")
        pytest.skip("LibreOffice (soffice) is not installed")
    return exe
