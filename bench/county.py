"""County-sized transfer-plan cases, generated (for bench_optimise.py and by hand).

A case looks like a county's transformation programme (issue 7): 63 % of the movable
people in placements (inpatient £4,000-13,000 a week, out of area £2,500-6,000,
residential £1,100-2,400), community budgets from a quarter of the placement cost to
more than it, the rest in block contracts (one contract per 50 people) with notice
periods, minimum volumes, release steps and decommission costs; integer and
half-integer priority weights, people with identical figures (ties), a few not ready,
a few who stay; five years, ``year_on_year`` 3 %, capacity 120-180 moves a year per
1,000 people.

    python bench/county.py 1000 DIR [--seed 7] [--objective personalise|save]
                                    [--kind year_on_year|vs_baseline|absolute]

writes DIR/placements.xlsx, DIR/contracts.xlsx, DIR/allocations.xlsx and
DIR/scenario.yaml, so ``ras optimise DIR/scenario.yaml`` can be timed as a whole.
"""

from __future__ import annotations

import argparse
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.models.registers import Contract, Member, Placement, Registers
from ras.models.scenario import Scenario

WEEKS = Decimal("52.143")
WEEKLY = {"inpatient": (4000, 13000), "out_of_area": (2500, 6000), "residential": (1100, 2400)}


def _pounds(rng: random.Random, low: float, high: float, pence: bool) -> Decimal:
    value = Decimal(str(round(rng.uniform(low, high), 2 if pence else 0)))
    return value.quantize(Decimal("0.01"))


def scenario_dict(
    people: int, objective: str = "personalise", kind: str = "year_on_year", seed: int = 7
) -> dict[str, Any]:
    """The scenario of a case (data paths relative to the case folder)."""
    rng = random.Random(seed * 31 + 1)
    scale = people / 1000
    capacity = [max(2, round(rng.randint(120, 180) * scale)) for _ in range(5)]
    savings: dict[str, Any] = {"kind": kind}
    if kind == "year_on_year":
        savings["rate"] = "0.03"
    elif kind == "vs_baseline":
        savings["rates"] = ["0.02", "0.04", "0.06", "0.08", "0.10"]
    else:
        per = round(900_000 * scale)
        savings["amounts"] = [per * (t + 1) for t in range(5)]
    return {
        "ras_scenario": 1,
        "name": f"County case, {people} people",
        "base_year": 2026,
        "horizon": 5,
        "data": {
            "allocations": "allocations.xlsx",
            "placements": "placements.xlsx",
            "contracts": "contracts.xlsx",
        },
        "weeks_per_year": str(WEEKS),
        "inflation": {"placements": "0.03", "contracts": "0.02", "budgets": "0.025"},
        "transition": {"overlap_weeks": 4, "setup_cost": 2000},
        "overheads": {"per_budget_per_year": 1200},
        "capacity": {"moves_per_year": capacity},
        "priority": {"inpatient": 3, "out_of_area": 2, "residential": "1.5", "block": 1},
        "savings": savings,
        "objective": objective,
    }


def generate(
    people: int,
    seed: int = 7,
    objective: str = "personalise",
    kind: str = "year_on_year",
    mode: float = 0.7,
) -> tuple[Scenario, Registers, dict[str, Decimal]]:
    """A case with ``people`` registered people.

    Budgets are a share of the placement cost (or the contract's unit price) drawn from a
    triangular distribution from 0.25 to 1.3 peaking at ``mode``: the higher the mode, the
    fewer moves save money and the tighter the target.
    """
    rng = random.Random(seed)
    n_placed = round(people * 0.63)
    n_members = people - n_placed
    placements: list[Placement] = []
    budgets: dict[str, Decimal] = {}
    previous: Placement | None = None
    for n in range(n_placed):
        pid = f"P{n:05d}"
        if previous is not None and rng.random() < 0.08:  # a tie: the same figures again
            placements.append(
                Placement(
                    pid,
                    previous.provider,
                    previous.setting,
                    previous.annual_cost,
                    previous.earliest_year,
                    None,
                    previous.priority,
                )
            )
            budgets[pid] = budgets[previous.person_id]
            continue
        setting = rng.choices(["inpatient", "out_of_area", "residential"], [2, 4, 4])[0]
        weekly = _pounds(rng, *WEEKLY[setting], pence=rng.random() < 0.3)
        annual = (weekly * WEEKS).quantize(Decimal("0.01"))
        priority = None
        if rng.random() < 0.15:
            priority = Decimal(rng.choice(["1", "1.5", "2", "2.5", "3", "4"]))
        earliest = rng.choices([1, 2, 3, 6], [70, 15, 10, 5])[0]
        stay = rng.random() < 0.03
        previous = Placement(
            pid,
            f"Provider {rng.randint(1, 40)}",
            setting,
            annual,
            earliest,
            Decimal(rng.choice([1500, 2000, 3500])) if rng.random() < 0.2 else None,
            priority,
            stay,
        )
        placements.append(previous)
        share = rng.triangular(0.25, 1.3, mode)
        budgets[pid] = (annual * Decimal(str(round(share, 4)))).quantize(Decimal("0.01"))
    n_contracts = max(1, round(people / 50))
    contracts: list[Contract] = []
    members: list[Member] = []
    per = n_members // n_contracts
    for c in range(n_contracts):
        cid = f"C{c:03d}"
        size = per + (n_members - per * n_contracts if c == n_contracts - 1 else 0)
        units = size + rng.randint(0, 4)
        unit_price = Decimal(rng.randint(30, 90) * 1000)
        contracts.append(
            Contract(
                cid,
                f"Block provider {c % 7 + 1}",
                rng.choice(["Supported living", "Day services", "Respite", "Residential"]),
                units * unit_price,
                units,
                round(units * rng.uniform(0.1, 0.4)),
                rng.choice([0, 3, 6, 12, 18, 24]),
                Decimal(rng.choice([0, 500, 2000, 5000])),
                rng.choice([1, 1, 1, 2]),
            )
        )
        for m in range(size):
            pid = f"{cid}M{m:03d}"
            priority = Decimal(rng.choice(["1.5", "2"])) if rng.random() < 0.1 else None
            members.append(Member(cid, pid, rng.choices([1, 2, 3], [80, 15, 5])[0], None, priority))
            share = rng.triangular(0.25, 1.3, mode)
            budgets[pid] = (unit_price * Decimal(str(round(share, 4)))).quantize(Decimal("0.01"))
    scenario = Scenario.model_validate(scenario_dict(people, objective, kind, seed))
    return scenario, Registers(tuple(placements), tuple(contracts), tuple(members)), budgets


def write_case(
    folder: Path,
    people: int,
    seed: int = 7,
    objective: str = "personalise",
    kind: str = "year_on_year",
) -> Path:
    """Write a case as the registers, an allocations workbook and scenario.yaml."""
    import xlsxwriter

    from ras.io.templates import write_register_templates

    _, registers, budgets = generate(people, seed, objective, kind)
    folder.mkdir(parents=True, exist_ok=True)

    def opt(v: Any) -> Any:
        return None if v is None else float(v)

    write_register_templates(
        folder,
        rows={
            "Placements": [
                [
                    p.person_id,
                    p.provider,
                    p.setting,
                    None,
                    float(p.annual_cost),
                    p.earliest_year,
                    opt(p.setup_cost),
                    opt(p.priority),
                    "Y" if p.stay else "N",
                    None,
                ]
                for p in registers.placements
            ],
            "Contracts": [
                [
                    c.contract_id,
                    c.provider,
                    c.service,
                    float(c.annual_value),
                    c.units,
                    c.minimum_units,
                    c.notice_months,
                    float(c.decommission_cost),
                    c.release_step,
                ]
                for c in registers.contracts
            ],
            "Members": [
                [m.contract_id, m.person_id, m.earliest_year, None, opt(m.priority), "N"]
                for m in registers.members
            ],
        },
    )
    wb = xlsxwriter.Workbook(str(folder / "allocations.xlsx"))
    ws = wb.add_worksheet("Allocations")
    ws.write_row(0, 0, ["Person ID", "Source", "Indicative budget (£/year)"])
    for r, (pid, b) in enumerate(budgets.items(), start=1):
        ws.write_row(r, 0, [pid, "generated", float(b)])
    wb.close()
    path = folder / "scenario.yaml"
    path.write_text(
        json.dumps(scenario_dict(people, objective, kind, seed), indent=1), encoding="utf-8"
    )
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("people", type=int)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--objective", default="personalise", choices=["personalise", "save"])
    parser.add_argument(
        "--kind", default="year_on_year", choices=["year_on_year", "vs_baseline", "absolute"]
    )
    a = parser.parse_args()
    print(write_case(a.folder, a.people, a.seed, a.objective, a.kind))
