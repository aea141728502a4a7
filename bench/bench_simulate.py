"""Plans under uncertainty and sweeps on Dask: throughput and scaling, as ratios.

    python bench/bench_simulate.py [--people 1000] [--draws 10000] [--rates 20] [--runs 3]

1. Draws: the 1,000-person county plan (bench/county.py) evaluated under 10,000 draws
   (budgets sd 0.15, readmission 5 %/26 weeks, breakdown 2 %/x1.25), in this process,
   against a bare floor: numpy drawing the same random numbers (one generator per draw,
   as ras does) without any of the arithmetic. Interleaved (floor, ras, floor, ras ...);
   min and median of each, draws per second, and the ratio of medians.
2. A frontier of 20 savings rates (0 % to 9.5 %) on the example scenario
   (`ras compare --frontier`),
   whole commands, interleaved: --jobs 0 (in the ras process, no cluster: the baseline),
   --jobs 1, --jobs 2 and the default local cluster (one worker per core), wall and CPU
   of the process tree, as ratios to the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, interleaved, load_average  # noqa: E402
from county import generate  # noqa: E402

from ras.commands.simulate import SolveTask, solve_task  # noqa: E402
from ras.models.plan import SolveOptions  # noqa: E402
from ras.models.uncertainty import Uncertainty  # noqa: E402
from ras.optimiser.data import build_data  # noqa: E402
from ras.simulation.draws import blocks, extra_spend  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def floor(n_people: int, h: int, samples: int, seed: int) -> float:
    """The random numbers alone: what any simulation keyed by (seed, i) must draw."""
    t0 = time.perf_counter()
    for i in range(samples):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        rng.standard_normal(n_people)
        rng.random((n_people, h))
        rng.random((n_people, h))
    return time.perf_counter() - t0


def draws(people: int, samples: int, runs: int) -> None:
    scenario, registers, budgets = generate(people)
    data = build_data(scenario, registers, budgets)
    unc = Uncertainty.model_validate(
        {
            "budgets": {"sd": 0.15},
            "readmission": {"probability_per_year": 0.05, "weeks": 26},
            "breakdown": {"probability_per_year": 0.02, "cost_multiplier": 1.25},
            "samples": samples,
        }
    )
    t0 = time.perf_counter()
    solved = solve_task(SolveTask(data, Decimal(0), SolveOptions(time_limit=120), unc))
    print(f"\nplan for {people} people solved in {time.perf_counter() - t0:.1f} s")
    assert solved.arrays is not None
    arrays = solved.arrays
    n_people, h = arrays.budget.shape
    base, ours = [], []
    for _ in range(runs):
        base.append(floor(n_people, h, samples, unc.seed))
        t0 = time.perf_counter()
        for a, b in blocks(samples):
            extra_spend(arrays, unc, a, b)
        ours.append(time.perf_counter() - t0)
    print(
        f"{samples:,} draws of a {people}-person plan ({n_people} movable, {h} years), "
        f"one process (load average {load_average()})"
    )
    for name, ts in (("floor (numbers only)", base), ("ras draws", ours)):
        print(
            f"  {name:<22} min {min(ts):6.2f} s  median {statistics.median(ts):6.2f} s  "
            f"{samples / statistics.median(ts):9,.0f} draws/s"
        )
    print(f"  ratio (medians)        {statistics.median(ours) / statistics.median(base):5.2f}x")


def frontier(rates: int, runs: int) -> None:
    scenario = str(ROOT / "scenarios" / "example.yaml")
    out = OUT / "frontier.xlsx"
    OUT.mkdir(exist_ok=True)
    # 0 % to 9.5 % in steps of 0.5 %: clear of the rates near 18 % where the example's
    # target stops being feasible, whose solves take minutes (issue 7's territory).
    stop = f"{(rates - 1) / 2:g}%"
    base = [
        sys.executable,
        "-m",
        "ras",
        "compare",
        scenario,
        "-o",
        str(out),
        "-q",
        "--frontier",
        f"0%:{stop}:0.5%",
        "--jobs",
    ]
    for jobs in ("1", "2"):
        interleaved(
            f"frontier of {rates} rates + 4 variants: --jobs 0 (baseline) against --jobs {jobs}",
            [*base, "0"],
            [*base, jobs],
            runs=runs,
        )
    interleaved(
        f"frontier of {rates} rates + 4 variants: --jobs 0 (baseline) against the local cluster",
        [*base, "0"],
        base[:-1],
        runs=runs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=10000)
    parser.add_argument("--rates", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-frontier", action="store_true")
    args = parser.parse_args()
    draws(args.people, args.draws, args.runs)
    if not args.skip_frontier:
        frontier(args.rates, args.runs)


if __name__ == "__main__":
    main()
