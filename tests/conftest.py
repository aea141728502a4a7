from __future__ import annotations

import os
from pathlib import Path

import pytest

from ras.io.templates import example_table, example_table_path
from ras.models.table import PointTable
from tests.helpers import soffice

ROOT = Path(__file__).resolve().parent.parent


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
