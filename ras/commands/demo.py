"""``ras demo``: the whole pipeline on generated, deterministic example data."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.commands.calibrate import run_calibrate
from ras.commands.compare import frontier_rates, run_compare
from ras.commands.optimise import run_optimise
from ras.commands.score import ScoreOutcome, run_score
from ras.commands.simulate import run_simulate
from ras.commands.transition import run_transition
from ras.io.sheet_folder import MANIFEST, staged_folder
from ras.io.table_file import load_table
from ras.io.templates import (
    example_table,
    example_table_path,
    write_assessment_template,
    write_register_templates,
)
from ras.models.base import decimal_text
from ras.models.table import PointTable
from ras.money import pounds, round_half_up, whole
from ras.scoring.budgets import compute_budget

CLIENT_GROUPS = (
    ("learning_disability", 0.35),
    ("mental_health", 0.2),
    ("physical_disability", 0.2),
    ("older_people", 0.25),
)
LIVING = (("own_home", 0.4), ("family_home", 0.3), ("supported_living", 0.2), ("residential", 0.1))


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def make_person(
    table: PointTable, rng: random.Random, number: int, prefix: str = "ASC"
) -> tuple[dict[str, Any], dict[str, str]]:
    """A plausible, made-up person: Person sheet values and answers (no names)."""
    need = rng.betavariate(2, 2.5)  # 0 = little need, 1 = very high
    answers: dict[str, str] = {}
    for _, q in table.questions():
        labels = list(q.answers)
        if q.id == "FS1":
            answers[q.id] = rng.choice(labels)
            continue
        if q.id == "FS2":
            answers[q.id] = "Yes" if rng.random() < 0.7 else "No"
            continue
        if not q.required and rng.random() < 0.3:
            continue
        pos = min(len(labels) - 1, max(0, round(need * (len(labels) - 1) + rng.gauss(0, 0.6))))
        answers[q.id] = labels[pos]
    values: dict[str, Any] = {"person_id": f"{prefix}-{number:04d}"}
    for f in table.person_fields:
        if f.id == "client_group" and f.options:
            options = tuple((o, w) for o, w in CLIENT_GROUPS if o in f.options) or tuple(
                (o, 1.0) for o in f.options
            )
            values[f.id] = _pick(rng, options)
        elif f.id == "living_situation":
            values[f.id] = _pick(rng, LIVING)
    cost_field = table.field("current_annual_cost")
    if cost_field is not None:
        b = compute_budget(table, answers, values, explain=False)
        noise = rng.lognormvariate(0, 0.2)
        cost = whole(b.annual * Decimal(str(round(1.05 * noise, 4))))
        values["current_annual_cost"] = float(cost) if cost > 0 else None
    return values, answers


def write_assessments(
    table: PointTable, folder: Path, people: int, seed: int = 2026, prefix: str = "ASC"
) -> list[Path]:
    """Write ``people`` filled-in assessment workbooks (deterministic for a seed)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for n in range(1, people + 1):
        values, answers = make_person(table, rng, n, prefix)
        path = folder / f"assessment-{values['person_id']}.xlsx"
        write_assessment_template(table, path, deterministic=True, values=values, answers=answers)
        written.append(path)
    return written


def write_faulty(table: PointTable, folder: Path) -> dict[str, str]:
    """A few deliberately faulty inputs, each teaching one exception."""
    rng = random.Random(7)
    faulty: dict[str, str] = {}
    values, answers = make_person(table, rng, 9001)
    first_q = table.questions()[0][1].id
    answers[first_q] = "Quite a lot"
    write_assessment_template(
        table, folder / "faulty-unknown-answer.xlsx", values=values, answers=answers
    )
    faulty["faulty-unknown-answer.xlsx"] = f"an answer to {first_q} that is not on the list"
    values, answers = make_person(table, rng, 9002)
    values["person_id"] = None
    write_assessment_template(
        table, folder / "faulty-no-person-id.xlsx", values=values, answers=answers
    )
    faulty["faulty-no-person-id.xlsx"] = "no Person ID"
    values, answers = make_person(table, rng, 1)  # same ID as the first generated person
    write_assessment_template(
        table, folder / "faulty-duplicate-id.xlsx", values=values, answers=answers
    )
    faulty["faulty-duplicate-id.xlsx"] = "a Person ID already used by another assessment"
    values, answers = make_person(table, rng, 9003)
    required = [q.id for _, q in table.questions() if q.required]
    answers.pop(required[-1], None)
    write_assessment_template(
        table, folder / "faulty-unanswered.xlsx", values=values, answers=answers
    )
    faulty["faulty-unanswered.xlsx"] = f"required question {required[-1]} left blank"
    good = (folder / "faulty-unanswered.xlsx").read_bytes()
    (folder / "faulty-damaged.xlsx").write_bytes(good[: len(good) // 2])
    faulty["faulty-damaged.xlsx"] = "a damaged (truncated) file"
    (folder / "faulty-csv-renamed.xlsx").write_text(
        "Person ID,PC1\nASC-9005,Some support\n", encoding="utf-8"
    )
    faulty["faulty-csv-renamed.xlsx"] = "a CSV file renamed .xlsx"
    (folder / "~$assessment-ASC-0001.xlsx").write_bytes(b"lock")
    faulty["~$assessment-ASC-0001.xlsx"] = "an Excel lock file (skipped)"
    return faulty


@dataclass
class DemoResult:
    """What the demo wrote."""

    folder: Path
    table: Path
    assessments: Path
    faulty: dict[str, str]
    score: ScoreOutcome
    extra: dict[str, Path] = field(default_factory=dict)

    def moved_to(self, folder: Path) -> DemoResult:
        """The same result, its paths under ``folder`` (where the demo was swapped in)."""
        self.score.allocations = folder / "allocations.xlsx"
        self.score.sheets = [folder / "budget-sheets" / p.name for p in self.score.sheets]
        return DemoResult(
            folder,
            folder / self.table,
            folder / self.assessments,
            self.faulty,
            self.score,
            {k: folder / v for k, v in self.extra.items()},
        )

    def summary(self) -> dict[str, Any]:
        """Machine-readable summary."""
        data = self.score.summary()
        data.update(
            {
                "folder": str(self.folder),
                "table_file": str(self.table),
                "extra": {k: str(v) for k, v in self.extra.items()},
            }
        )
        return data

    def describe(self) -> str:
        """What was made and where to look, for the terminal."""
        run = self.score.run
        total = sum((s.budget.annual for s in run.scored), Decimal(0))
        rejected = run.rejected()
        made = [
            (
                str(self.table.relative_to(self.folder)),
                f"the example point table ({run.table.name}, version {run.table.version})",
            ),
            (
                f"{self.assessments.relative_to(self.folder)}/",
                f"{len(run.files)} assessment workbooks, {len(self.faulty) - 1} of them "
                "deliberately faulty",
            ),
            (
                "allocations.xlsx",
                f"{len(run.scored)} {'person' if len(run.scored) == 1 else 'people'} scored, "
                f"total {pounds(total, 0)} a year; "
                + (
                    f"{rejected} inputs rejected (Exceptions sheet)"
                    if rejected
                    else "none rejected"
                ),
            ),
            ("budget-sheets/", f"{len(self.score.sheets)} one-page indicative budget sheets"),
        ]
        made += [
            (str(path.relative_to(self.folder)) + ("/" if path.is_dir() else ""), name)
            for name, path in self.extra.items()
        ]
        width = max(len(name) for name, _ in made)
        lines = [f"ras demo wrote everything into {self.folder}/"]
        lines += [f"  {name.ljust(width)}  {what}" for name, what in made]
        lines += [
            "",
            "Where to look:",
            "  open comparison.xlsx: the variants side by side and the Frontier (people-years",
            "  given up for each extra point of savings); calibration.xlsx: the fit to costs;",
            "  open risk.xlsx: how often the plan meets its target when costs turn out higher;",
            "  open plan.xlsx: Summary (each year's spend against the target), Moves (who moves",
            "  when), Contracts (block places released), People (why others do not move),",
            "  Organisations (what NHS England, the ICB and the council each pay and save);",
            "  open allocations.xlsx: Summary, then Allocations (one row per person),",
            "  Explanations (every step of every budget) and Exceptions (what was rejected",
            "  and why); transition.xlsx: who gains and who loses under the calibrated table;",
            f"  open budget-sheets/{run.scored[0].assessment.person_id}.xlsx: one person's sheet."
            if run.scored
            else "",
            f"Try it on your own table: ras template assessment my.xlsx --table {self.table}",
        ]
        return "\n".join(lines)


#: What ``ras demo`` writes into its folder (a folder holding only these is a demo's).
#: What every demo folder has had, manifest or not: the demo's table and assessments.
OLD_DEMO = frozenset({"adult-social-care.yaml", "assessments", "allocations.xlsx"})
DEMO_NAMES = frozenset(
    {
        "adult-social-care.yaml",
        "assessments",
        "allocations.xlsx",
        "budget-sheets",
        "registers",
        "scenario.yaml",
        "plan.xlsx",
        "calibration.xlsx",
        "calibrated-table.yaml",
        "comparison.xlsx",
        "allocations-calibrated.xlsx",
        "transition-policy.yaml",
        "transition.xlsx",
        "risk.xlsx",
    }
)

#: The demo's transition policy: cuts at most 10 % a year, rises phased over two years.
DEMO_POLICY = """\
# How people are protected when the calibrated table goes live (docs/transition.md).
ras_policy: 1
years: 3
cuts: {max_percent_per_year: 10}
rises: {phase_in_years: 2}
protect_when_need_fell: true
"""


def run_demo(
    out: Path,
    people: int = 150,
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoResult:
    """Generate example data into ``out`` and run the pipeline on it.

    The whole demo is built in a hidden folder beside ``out`` (working there, so that
    the paths inside the workbooks are relative to the demo folder) and swapped in only
    when every step has succeeded: an interrupted demo leaves ``out`` as it was.
    """
    out = Path(out)
    if out.is_dir() and not (out / MANIFEST).exists():
        # A demo folder written before ras kept manifests: its own files are ras's. Only
        # a folder with the demo's own table and assessments is one: any folder with a
        # plan.xlsx in it was taken for one, and that plan replaced.
        names = {p.name for p in out.iterdir()}
        if OLD_DEMO <= names:
            ours = sorted(names & DEMO_NAMES)
            (out / MANIFEST).write_text(json.dumps({"files": ours}), encoding="utf-8")
    here = Path.cwd()
    with staged_folder(out) as staging:
        os.chdir(staging)
        try:
            result = _demo_in(Path(), people, jobs, progress)
        finally:
            os.chdir(here)
    return result.moved_to(out)


def _demo_in(
    out: Path,
    people: int,
    jobs: int | None,
    progress: Callable[[str, int, int], None] | None,
) -> DemoResult:
    table = example_table("adult-social-care")
    table_file = out / "adult-social-care.yaml"
    shutil.copyfile(example_table_path("adult-social-care"), table_file)
    assessments = out / "assessments"
    if assessments.exists():
        shutil.rmtree(assessments)
    write_assessments(table, assessments, people)
    faulty = write_faulty(table, assessments)
    sheets = out / "budget-sheets"
    if sheets.exists():
        shutil.rmtree(sheets)
    outcome = run_score(
        [assessments],
        table,
        out / "allocations.xlsx",
        budget_sheets=sheets,
        jobs=jobs,
        progress=progress,
        options={"table": str(table_file), "demo": True},
    )
    result = DemoResult(out, table_file, assessments, faulty, outcome)

    scenario = write_example(out / "scenario.yaml", out / "allocations.xlsx", out / "registers")
    planned = run_optimise(scenario, out / "plan.xlsx")
    result.extra["registers for the transfer plan (placements, contracts)"] = out / "registers"
    result.extra[
        "the scenario: five years, savings of 3% a year, NHS England, an ICB and a council, "
        "four variants"
    ] = scenario
    result.extra[
        f"the transfer plan: {planned.plan.status}, {len(planned.plan.moves)} people move"
    ] = out / "plan.xlsx"

    total = sum((s.budget.annual for s in outcome.run.scored), Decimal(0))
    affordable = round_half_up(total * Decimal("0.95"), Decimal(1000))
    cal = run_calibrate(
        out / "allocations.xlsx",
        table,
        out / "calibration.xlsx",
        budget=affordable,
        write_table=out / "calibrated-table.yaml",
    )
    assert cal.fit.rate is not None  # the example table converts points at a rate
    result.extra[
        f"calibration: fitted rate {pounds(cal.fit.rate)} a point; affordable within "
        f"{pounds(affordable, 0)}"
    ] = out / "calibration.xlsx"
    result.extra["the calibrated point table"] = out / "calibrated-table.yaml"
    calibrated = load_table(out / "calibrated-table.yaml")
    run_score([out / "assessments"], calibrated, out / "allocations-calibrated.xlsx", jobs=jobs)
    (out / "transition-policy.yaml").write_text(DEMO_POLICY, encoding="utf-8")
    moved = run_transition(
        out / "allocations.xlsx",
        out / "allocations-calibrated.xlsx",
        out / "transition.xlsx",
        policy_path=out / "transition-policy.yaml",
        table=calibrated,
    )
    cut = sum(1 for p in moved.people if p.change < 0)
    result.extra["the allocations under the calibrated table"] = out / "allocations-calibrated.xlsx"
    result.extra["how people are protected: cuts at most 10 % a year"] = (
        out / "transition-policy.yaml"
    )
    result.extra[
        f"the calibrated table's effect on each person: {cut} budgets cut, protected at 10 % a year"
    ] = out / "transition.xlsx"
    frontier = frontier_rates(Decimal(0), Decimal("0.3"), Decimal("0.05"))
    run_compare(scenario, out / "comparison.xlsx", frontier=frontier, jobs=jobs)
    result.extra["base and variants side by side, and a savings frontier"] = out / "comparison.xlsx"
    risk = run_simulate(scenario, out / "risk.xlsx", jobs=jobs)
    robust = (
        "no planning margin reaches 90 %"
        if risk.margin is None
        else f"robust margin {decimal_text(risk.margin * 100)} %"
    )
    result.extra[
        f"the plan under uncertainty: meets every year's target in "
        f"{risk.optimised_share * 100:.0f} % of {risk.samples:,} draws; {robust}"
    ] = out / "risk.xlsx"
    return result


def example_registers(seed: int = 2026) -> dict[str, list[list[Any]]]:
    """Made-up registers for the demo people: 40 in placements, 60 in 3 block contracts.

    ``ASC-0001`` to ``ASC-0040`` are in out-of-area, inpatient and residential
    placements; ``ASC-0041`` to ``ASC-0100`` hold places in three block contracts;
    two registered people (``ASC-0201``, ``ASC-0202``) have no assessment.
    """
    rng = random.Random(seed)
    providers = {
        "inpatient": ["Riverside Hospital", "Hillview Assessment Unit"],
        "out_of_area": ["Coastal Care Ltd", "Northfield Homes", "Meadow Lodge"],
        "residential": ["Oakwood House", "Elm Court"],
    }
    weekly = {"inpatient": (3800, 5200), "out_of_area": (2100, 3600), "residential": (500, 900)}
    placements: list[list[Any]] = []
    for n in range(1, 41):
        setting = "inpatient" if n <= 10 else "out_of_area" if n <= 32 else "residential"
        lo, hi = weekly[setting]
        cost = rng.randrange(lo, hi, 25)
        earliest = 1 if n % 7 else 3
        stay = "Y" if n in (5, 23) else "N"
        placements.append(
            [
                f"ASC-{n:04d}",
                rng.choice(providers[setting]),
                setting,
                cost,
                None,
                earliest,
                None,
                None,
                stay,
                "icb" if n in (33, 36) else None,  # residential, but NHS continuing healthcare
            ]
        )
    placements.append(
        ["ASC-0201", "Coastal Care Ltd", "out_of_area", 2950, None, 1, None, None, "N", None]
    )
    placements.append(
        ["ASC-0202", "Riverside Hospital", "inpatient", None, 231000, 2, 3500, 4, "N", None]
    )
    contracts = [
        ["BLK-SL", "Brookside Support", "Supported living", 1_050_000, 25, 8, 6, 1500, 1],
        ["BLK-DAY", "Horizon Day Services", "Day opportunities", 520_000, 20, 6, 12, 400, 2],
        ["BLK-RES", "Greenacres Care", "Residential respite", 1_296_000, 24, 10, 18, 2500, 1],
    ]
    members: list[list[Any]] = []
    sizes = (("BLK-SL", 22), ("BLK-DAY", 18), ("BLK-RES", 20))
    n = 41
    for cid, size in sizes:
        for _ in range(size):
            earliest = 2 if n % 9 == 0 else 1
            members.append([cid, f"ASC-{n:04d}", earliest, None, None, "Y" if n == 77 else "N"])
            n += 1
    return {"Placements": placements, "Contracts": contracts, "Members": members}


EXAMPLE_SCENARIO = """\
# Worked example: moving 40 people out of placements and 60 out of block contracts
# into individual budgets over five years (see docs/model.md and the README).
ras_scenario: 1
name: Five-year transformation (example)
base_year: 2026                 # year 0 = 2026/27, the year the registers describe
horizon: 5
data:
  allocations: {allocations}
  placements: {placements}
  contracts: {contracts}
weeks_per_year: 52.143
inflation: {{placements: 0.03, contracts: 0.02, budgets: 0.025}}
transition: {{overlap_weeks: 4, setup_cost: 2000}}
overheads: {{per_budget_per_year: 1200}}
capacity: {{moves_per_year: 12}}
priority: {{inpatient: 3, out_of_area: 2, residential: 1.5, block: 1}}
savings:
  kind: year_on_year
  rate: 0.03
objective: personalise
organisations:                  # who pays what (docs/model.md, "Organisations")
  ids: [nhse, icb, council]
  names: {{nhse: NHS England, icb: Integrated care board, council: Council}}
  placements: {{inpatient: nhse, out_of_area: icb, residential: council}}
  contracts: council              # the block contracts (a Funder column can override)
  budgets: {{social_care: council, unassigned: council}}  # by the table's funding streams
  dowries:                        # paid every year after a move, like s256 transfers
    - {{from: nhse, to: council, setting: inpatient, share: 0.5}}
    - {{from: icb, to: council, setting: out_of_area, share: 0.3}}
  no_worse_off: [council]         # the council never spends more than its baseline
uncertainty:                    # what may cost more (ras simulate; docs/uncertainty.md)
  budgets: {{sd: 0.15}}           # a person's real budget: the indicative one x lognormal(mean 1)
  readmission: {{probability_per_year: 0.05, weeks: 26}}
  breakdown: {{probability_per_year: 0.02, cost_multiplier: 1.25}}
  samples: 2000
  seed: 20261125
  robust: {{probability: 0.9}}    # a plan meeting every year's target in 90 % of draws
variants:
  stretch: {{savings: {{rate: 0.06}}}}
  slow_market: {{capacity: {{moves_per_year: 6}}}}
  save_first: {{objective: save}}
  no_dowries: {{organisations: {{dowries: []}}}}
"""


def write_example(scenario: Path, allocations: Path, registers: Path) -> Path:
    """Write the example registers into ``registers`` and the scenario file ``scenario``.

    The scenario's data paths are written relative to the scenario file.
    """
    import os

    write_register_templates(registers, deterministic=True, rows=example_registers())
    base = scenario.parent

    def rel(p: Path) -> str:
        return Path(os.path.relpath(p, base)).as_posix()

    scenario.write_text(
        EXAMPLE_SCENARIO.format(
            allocations=rel(allocations),
            placements=rel(registers / "placements.xlsx"),
            contracts=rel(registers / "contracts.xlsx"),
        ),
        encoding="utf-8",
    )
    return scenario
