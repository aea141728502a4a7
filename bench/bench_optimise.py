"""Scale curve of the transfer model: build and solve times at 200, 1,000 and 5,000
movable people (5, 20 and 50 contracts, five years), HiGHS against CBC where present.

    python bench/bench_optimise.py [--sizes 200,1000,5000] [--solvers highs,cbc]
                                   [--time-limit 300]

Targets: 1,000 people solved to a gap <= 1e-4 within 60 s; building <= 25 % of the
total at 5,000. The baseline for the ratio is the build itself: the share printed is
build / (build + solve), measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import time
from decimal import Decimal

from ras.models.registers import Contract, Member, Placement, Registers
from ras.models.scenario import Scenario
from ras.optimise.data import build_data
from ras.optimise.formulation import build
from ras.optimise.plan import make_plan
from ras.optimise.solve import SolveOptions, cbc_available, solve

CONTRACTS = {200: 5, 1000: 20, 5000: 50}


def generate(people: int, contracts: int, seed: int = 7) -> tuple[Scenario, Registers, dict]:
    rng = random.Random(seed)
    n_members = int(people * 0.4)
    placements = []
    budgets: dict[str, Decimal] = {}
    for n in range(people - n_members):
        setting = rng.choice(["inpatient", "out_of_area", "out_of_area", "residential"])
        cost = {"inpatient": (150, 260), "out_of_area": (90, 180), "residential": (35, 70)}[setting]
        pid = f"P{n:05d}"
        placements.append(
            Placement(
                pid,
                "Prov",
                setting,
                Decimal(rng.randint(*cost) * 1000),
                earliest_year=rng.choice([1, 1, 1, 2, 3]),
            )
        )
        budgets[pid] = Decimal(rng.randint(15, 110) * 1000)
    blocks, members = [], []
    per = n_members // contracts
    for c in range(contracts):
        cid = f"C{c:03d}"
        size = per + (n_members - per * contracts if c == contracts - 1 else 0)
        units = size + rng.randint(0, 3)
        unit_price = rng.randint(40, 90) * 1000
        blocks.append(
            Contract(
                cid,
                "Block",
                "Service",
                Decimal(units * unit_price),
                units,
                max(1, units // 5),
                rng.choice([0, 6, 12, 18]),
                Decimal(rng.choice([0, 500, 2000])),
                rng.choice([1, 1, 2]),
            )
        )
        for m in range(size):
            pid = f"{cid}M{m:04d}"
            members.append(Member(cid, pid, earliest_year=rng.choice([1, 1, 2])))
            budgets[pid] = Decimal(rng.randint(10, 60) * 1000)
    scenario = Scenario.model_validate(
        {
            "ras_scenario": 1,
            "name": f"bench {people}",
            "base_year": 2026,
            "horizon": 5,
            "data": {"allocations": "-", "placements": "-", "contracts": "-"},
            "inflation": {"placements": "0.03", "contracts": "0.02", "budgets": "0.025"},
            "transition": {"overlap_weeks": 4, "setup_cost": 2000},
            "overheads": {"per_budget_per_year": 1200},
            "capacity": {"moves_per_year": max(10, people // 8)},
            "savings": {"kind": "year_on_year", "rate": "0.03"},
        }
    )
    return scenario, Registers(tuple(placements), tuple(blocks), tuple(members)), budgets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="200,1000,5000")
    parser.add_argument("--solvers", default="highs,cbc")
    parser.add_argument("--time-limit", type=float, default=300)
    args = parser.parse_args()
    print(
        f"{'people':>7} {'contracts':>9} {'solver':>6} {'build s':>8} {'solve s':>8} "
        f"{'build %':>8} {'gap':>9} {'status':>16} {'moves':>6}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        scenario, registers, budgets = generate(size, CONTRACTS.get(size, max(1, size // 100)))
        data = build_data(scenario, registers, budgets)
        for solver in args.solvers.split(","):
            if solver == "cbc" and not cbc_available():
                print(f"{size:>7} {'':>9} {'cbc':>6}  (CBC not installed)")
                continue
            t0 = time.perf_counter()
            built = build(data)
            t_build = time.perf_counter() - t0
            t0 = time.perf_counter()
            solution = solve(built, SolveOptions(solver=solver, time_limit=args.time_limit))
            t_solve = time.perf_counter() - t0
            t_build += solution.build_seconds
            plan = make_plan(data, solution)
            gap = solution.primary.gap
            share = t_build / (t_build + t_solve) * 100
            print(
                f"{len(data.movable):>7} {len(data.contracts):>9} {solver:>6} {t_build:>8.2f} "
                f"{t_solve:>8.2f} {share:>7.1f}% {gap if gap is not None else float('nan'):>9.2e}"
                f" {plan.status:>16} {len(plan.moves):>6}"
            )


if __name__ == "__main__":
    main()
