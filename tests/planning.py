"""Helpers for transfer-plan tests: tiny registers, allocations and scenarios on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import xlsxwriter

from ras.io.templates import write_register_templates


def placement(
    pid: str,
    setting: str,
    annual: float,
    *,
    earliest: int = 1,
    setup: float | None = None,
    priority: float | None = None,
    stay: bool = False,
    provider: str = "Prov",
    funder: str | None = None,
) -> list[Any]:
    return [
        pid,
        provider,
        setting,
        None,
        annual,
        earliest,
        setup,
        priority,
        "Y" if stay else "N",
        funder,
        None,
    ]


def contract(
    cid: str,
    value: float,
    units: int,
    minimum: int,
    notice: int,
    decommission: float,
    step: int = 1,
    funder: str | None = None,
) -> list[Any]:
    return [cid, "Block Ltd", "Service", value, units, minimum, notice, decommission, step, funder]


def member(cid: str, pid: str, *, earliest: int = 1, stay: bool = False) -> list[Any]:
    return [cid, pid, earliest, None, None, "Y" if stay else "N"]


def write_case(
    folder: Path,
    *,
    budgets: dict[str, float],
    placements: list[list[Any]] = (),  # type: ignore[assignment]
    contracts: list[list[Any]] = (),
    members: list[list[Any]] = (),  # type: ignore[assignment]
    funding: dict[str, dict[str, float]] | None = None,
    **scenario: Any,
) -> Path:
    """Registers, an allocations workbook and scenario.yaml in ``folder``.

    ``funding`` gives people's budgets by funding stream id (``{"A": {"health": 600}}``):
    the allocations workbook then has a ``Funding: <Label> (£)`` column per stream and
    the Run sheet's ``Funding streams`` row, as ``ras score`` writes them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write_register_templates(
        folder,
        rows={
            "Placements": list(placements),
            "Contracts": list(contracts),
            "Members": list(members),
        },
    )
    wb = xlsxwriter.Workbook(str(folder / "allocations.xlsx"))
    ws = wb.add_worksheet("Allocations")
    streams = list(dict.fromkeys(s for split in (funding or {}).values() for s in split))
    labels = [s.replace("_", " ").capitalize() for s in streams]
    ws.write_row(
        0,
        0,
        [
            "Person ID",
            "Source",
            "Indicative budget (£/year)",
            *(f"Funding: {x} (£)" for x in labels),
        ],
    )
    for r, (pid, b) in enumerate(budgets.items(), start=1):
        split = (funding or {}).get(pid, {})
        ws.write_row(r, 0, [pid, "test", b, *(split.get(s) for s in streams)])
    if streams:
        run = wb.add_worksheet("Run")
        run.write_row(0, 0, ["Item", "Value", "sha256"])
        pairs = "; ".join(f"{s} = {x}" for s, x in zip(streams, labels, strict=True))
        run.write_row(1, 0, ["Funding streams", pairs, ""])
    wb.close()
    base: dict[str, Any] = {
        "ras_scenario": 1,
        "name": "case",
        "base_year": 2026,
        "horizon": 1,
        "data": {
            "allocations": "allocations.xlsx",
            "placements": "placements.xlsx",
            "contracts": "contracts.xlsx",
        },
        "weeks_per_year": 52,
        "capacity": {"moves_per_year": 10},
        "transition": {"overlap_weeks": 0, "setup_cost": 0},
        "savings": {"kind": "vs_baseline", "rates": [0]},
    }
    base.update(scenario)
    path = folder / "scenario.yaml"
    path.write_text(json.dumps(base, indent=1), encoding="utf-8")  # JSON is YAML 1.2
    return path


def golden_case(folder: Path) -> Path:
    """The tiny model whose LP file is kept in tests/golden/transfer_tiny.lp."""
    return write_case(
        folder,
        budgets={"A": 60000, "M1": 20000},
        horizon=2,
        placements=[placement("A", "out_of_area", 100000)],
        contracts=[contract("C1", 200000, 4, 1, 6, 500)],
        members=[member("C1", "M1")],
        capacity={"moves_per_year": 1},
        savings={"kind": "year_on_year", "rate": "0.05"},
        transition={"overlap_weeks": 2, "setup_cost": 1000},
    )


def golden_orgs_case(folder: Path) -> Path:
    """The tiny model with organisations kept in tests/golden/transfer_tiny_orgs.lp.

    The golden case, with A's out-of-area placement paid by the ICB and A's budget
    split £45,000 health (ICB) and £15,000 social care (council); the contract and
    M1's social-care budget are the council's; 20 % of A's placement follows A to the
    council. The council is kept no worse off; the ICB must save 5 % a year.
    """
    return write_case(
        folder,
        budgets={"A": 60000, "M1": 20000},
        funding={"A": {"health": 45000, "social_care": 15000}, "M1": {"social_care": 20000}},
        horizon=2,
        placements=[placement("A", "out_of_area", 100000)],
        contracts=[contract("C1", 200000, 4, 1, 6, 500)],
        members=[member("C1", "M1")],
        capacity={"moves_per_year": 1},
        savings={"kind": "year_on_year", "rate": "0.05"},
        transition={"overlap_weeks": 2, "setup_cost": 1000},
        organisations={
            "ids": ["icb", "council"],
            "placements": {"out_of_area": "icb"},
            "contracts": "council",
            "budgets": {"health": "icb", "social_care": "council"},
            "dowries": [{"from": "icb", "to": "council", "setting": "out_of_area", "share": 0.2}],
            "no_worse_off": ["council"],
            "targets": {"icb": {"kind": "year_on_year", "rate": "5%"}},
        },
    )


def two_placed_and_a_member(folder: Path) -> Path:
    """Registers of A and B in inpatient placements and M1 in block contract C1."""
    return write_case(
        folder,
        budgets={"A": 500, "B": 500, "M1": 500},
        placements=[placement("A", "inpatient", 1000), placement("B", "inpatient", 1000)],
        contracts=[contract("C1", 100000, 5, 0, 0, 0)],
        members=[member("C1", "M1")],
    )
