"""The transfer-plan scenario (SPEC §8): a strict, frozen model."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ras.choices import (
    OBJECTIVE_LABELS,
    SAVINGS_KIND_LABELS,
    SETTING_LABELS,
    label_of,
    match_choice,
)
from ras.errors import (
    InputError,
    Issue,
    KeyPath,
    Location,
    ModelProblem,
    Severity,
    locate,
    quote,
)
from ras.models.base import (
    COUNT_LIMIT,
    HORIZON_LIMIT,
    Dec,
    Frozen,
    Money,
    Rate,
    Weeks,
    Year,
    choice_of,
    decimal_text,
    value_kind,
)
from ras.models.organisations import Organisations
from ras.models.savings import KIND_USES, Savings, savings_problems
from ras.models.uncertainty import Uncertainty

#: The years a base year may be, and the most weeks of double running a move may have.
YEARS = (1900, 2200)
OVERLAP_LIMIT = 520


class DataFiles(Frozen):
    """Input files, relative to the scenario file."""

    allocations: str = Field(
        description="The allocations workbook from `ras score` (people's indicative budgets)."
    )
    placements: str = Field(description="The placements register (placements.xlsx).")
    contracts: str = Field(description="The block contracts register (contracts.xlsx).")


#: The keys of ``data``, in the order their files are read.
DATA_KEYS = ("allocations", "placements", "contracts")


class Inflation(Frozen):
    """Yearly growth rates."""

    placements: Rate = Field(
        default=Decimal(0), description="Yearly growth of placement costs, e.g. 3%."
    )
    contracts: Rate = Field(
        default=Decimal(0), description="Yearly growth of block contract values, e.g. 2%."
    )
    budgets: Rate = Field(
        default=Decimal(0), description="Yearly growth of individual budgets and overheads."
    )

    @model_validator(mode="after")
    def _above_minus_one(self) -> Inflation:
        # Each part checks its own values, so that its problems are listed with every
        # other key's, not only once those are right (a check of the whole scenario
        # runs only when each of its keys is valid).
        wrong = [k for k in ("placements", "contracts", "budgets") if getattr(self, k) <= -1]
        if wrong:
            raise ModelProblem([((k,), "must be above -1") for k in wrong])
        return self


class Transition(Frozen):
    """One-off costs of a move."""

    overlap_weeks: Dec = Field(
        default=Decimal(0),
        description="Weeks of double running: the placement and the budget both paid.",
    )
    setup_cost: Money = Field(
        default=Decimal(0),
        description="One-off cost of setting up each move (£); a register's Set-up cost "
        "overrides it.",
    )

    @model_validator(mode="after")
    def _weeks_in_range(self) -> Transition:
        if not 0 <= self.overlap_weeks <= OVERLAP_LIMIT:
            raise ModelProblem([(("overlap_weeks",), f"must be from 0 to {OVERLAP_LIMIT} weeks")])
        return self


class Overheads(Frozen):
    """Running costs per budget holder."""

    per_budget_per_year: Money = Field(
        default=Decimal(0),
        description="Care co-ordination and monitoring per budget holder (£ a year).",
    )


class Capacity(Frozen):
    """How many moves the team can plan each year."""

    moves_per_year: int | tuple[int, ...] = Field(
        description="Moves the team can make each year: one number, or one per plan year."
    )

    @model_validator(mode="after")
    def _counts_in_range(self) -> Capacity:
        cap = self.moves_per_year
        problems: list[tuple[KeyPath, str]] = []
        for i, c in enumerate(cap if isinstance(cap, tuple) else (cap,)):
            at: KeyPath = ("moves_per_year", *((i,) if isinstance(cap, tuple) else ()))
            if c < 0:
                problems.append((at, "cannot be negative"))
            elif c > COUNT_LIMIT:
                problems.append((at, f"must be at most {COUNT_LIMIT:,}"))
        if problems:
            raise ModelProblem(problems)
        return self


class Priority(Frozen):
    """Weights per setting (a person's Priority overrides)."""

    inpatient: Dec = Field(default=Decimal(3), description="Weight of a year out of hospital.")
    out_of_area: Dec = Field(
        default=Decimal(2), description="Weight of a year back from out of area."
    )
    residential: Dec = Field(
        default=Decimal("1.5"), description="Weight of a year out of residential care."
    )
    block: Dec = Field(default=Decimal(1), description="Weight of a year out of a block contract.")

    @model_validator(mode="after")
    def _weights_in_range(self) -> Priority:
        keys = ("inpatient", "out_of_area", "residential", "block")
        wrong = [k for k in keys if not 0 <= getattr(self, k) <= COUNT_LIMIT]
        if wrong:
            raise ModelProblem([((k,), f"must be from 0 to {COUNT_LIMIT:,}") for k in wrong])
        return self


Objective = Annotated[Literal["personalise", "save"], choice_of(OBJECTIVE_LABELS)]


class Scenario(Frozen):
    """A scenario after variants and ``--set`` were applied."""

    ras_scenario: int = Field(description="The scenario format: 1.")
    name: str = Field(description="The scenario's name, shown on every output.")
    base_year: Year = Field(
        description="The year the registers describe: 2026 (or 2026/27) is 2026/27, plan year 0."
    )
    horizon: int = Field(ge=1, le=HORIZON_LIMIT, description="Plan years: 5 plans 1 to 5.")
    data: DataFiles
    weeks_per_year: Weeks = Field(
        default=Decimal("52.143"), description="Weeks in a year, for weekly costs."
    )
    inflation: Inflation = Inflation()
    transition: Transition = Transition()
    overheads: Overheads = Overheads()
    capacity: Capacity
    priority: Priority = Priority()
    savings: Savings
    objective: Objective = Field(
        default="personalise",
        description="personalise: the most person-years in budgets, then savings; "
        "save: the most savings, then person-years.",
    )
    uncertainty: Uncertainty = Uncertainty()
    organisations: Organisations | None = Field(
        default=None, description="Who pays what, dowries and protections (SPEC §14)."
    )
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("ras_scenario")
    @classmethod
    def _format_one(cls, value: int) -> int:
        if value != 1:
            raise ValueError("this version of ras reads scenarios of format 1")
        return value

    @field_validator("base_year")
    @classmethod
    def _a_year(cls, value: int) -> int:
        if not YEARS[0] <= value <= YEARS[1]:
            raise ValueError("must be a year such as 2026 (for 2026/27)")
        return value

    # Every check is a key's own, so that pydantic lists each key's problems with every
    # other's: a check of the whole scenario would run only once every key was valid (a
    # horizon of 0 hid a priority of -3). Checks against the horizon read it from the
    # keys validated before (``info.data``), and wait only for the horizon itself.

    @field_validator("capacity")
    @classmethod
    def _a_number_a_year(cls, value: Capacity, info: ValidationInfo) -> Capacity:
        cap, horizon = value.moves_per_year, info.data.get("horizon")
        if isinstance(cap, tuple) and horizon is not None and len(cap) != horizon:
            problem = f"give one number per plan year ({horizon}), not {len(cap)}"
            raise ModelProblem([(("moves_per_year",), problem)])
        return value

    @field_validator("savings")
    @classmethod
    def _target_for_each_year(cls, value: Savings, info: ValidationInfo) -> Savings:
        problems = savings_problems(value, info.data.get("horizon"), ())
        if problems:
            raise ModelProblem(problems)
        return value

    @field_validator("organisations")
    @classmethod
    def _targets_for_each_year(
        cls, value: Organisations | None, info: ValidationInfo
    ) -> Organisations | None:
        horizon = info.data.get("horizon")
        if value is None:
            return value
        problems: list[tuple[KeyPath, str]] = []
        for org, target in value.targets.items():
            problems += savings_problems(target, horizon, ("targets", org))
        if problems:
            raise ModelProblem(problems)
        return value

    def financial_year(self, year: int) -> str:
        """Plan year ``year`` as a financial year: with base_year 2026, year 1 is ``2027/28``."""
        return financial_year(self.base_year, year)

    def target_sentence(self) -> str:
        """What the savings target asks of each year, in one plain sentence."""
        s = self.savings
        years = range(1, self.horizon + 1)
        if s.kind == "year_on_year":
            return (
                f"Each year, spend must fall at least {_percent(s.rate or Decimal(0))} below "
                "the previous year's spend in this plan (year 1: below the base year, "
                f"{self.financial_year(0)})."
            )
        if s.kind == "vs_baseline":
            each = ", ".join(
                f"{self.financial_year(t)} {_percent(r)}"
                for t, r in zip(years, s.rates or (), strict=False)
            )
            return (
                "Each year, savings against the baseline (what spend would be if nobody "
                f"moved) must reach that year's share of it: {each}."
            )
        each = ", ".join(
            f"{self.financial_year(t)} £{a:,.2f}"
            for t, a in zip(years, s.amounts or (), strict=False)
        )
        return f"Each year, savings against the baseline must reach at least: {each}."

    def capacity_in(self, year: int) -> int:
        """Moves the team can plan in plan year ``year`` (1-based)."""
        cap = self.capacity.moves_per_year
        return cap[year - 1] if isinstance(cap, tuple) else cap


def financial_year(base_year: int, year: int) -> str:
    """Plan year ``year`` of a plan from ``base_year`` as a financial year (``2027/28``)."""
    start = base_year + year
    return f"{start}/{(start + 1) % 100:02d}"


def _percent(rate: Decimal) -> str:
    return f"{decimal_text(rate * 100)} %"


@dataclass(frozen=True)
class Override:
    """One value set over the scenario file (``--set``, a frontier point)."""

    keys: tuple[str, ...]  # e.g. ("savings", "rate")
    value: Any  # a plain YAML value
    source: str  # where it came from, as the Assumptions sheet shows it: "--set"
    where: str  # as an error about the value names it: "--set savings.rate=0.05"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where its values came from."""

    scenario: Scenario
    path: Path
    variant: str | None
    overrides: tuple[tuple[str, str, str], ...] = ()  # (key, value, source)
    raw: dict[str, Any] = field(default_factory=dict)  # the file with variant and --set merged
    given: dict[str, Any] = field(default_factory=dict)  # the file as read
    where: dict[KeyPath, str] = field(default_factory=dict)  # key path -> line, or sheet and cell

    def resolve(self, relative: str) -> Path:
        """A data path, relative to the scenario file (see :func:`resolve_data_path`)."""
        return resolve_data_path(self.path, relative)

    def data_file(self, key: str) -> Path:
        """The input file ``data.<key>`` names, resolved; an error names the key if absent.

        Raises:
            InputError: no such file (the key, where it was given, the resolved path).
        """
        return data_file(self.path, self.where, key, getattr(self.scenario.data, key))

    def data_files(self) -> dict[str, Path]:
        """Every input file of ``data`` (:meth:`data_file`), checked together.

        Raises:
            InputError: one line for each file that is not there.
        """
        given = {key: getattr(self.scenario.data, key) for key in DATA_KEYS}
        missing = missing_data_files(self.path, self.where, given)
        if missing:
            raise InputError("\n".join(missing))
        return {key: resolve_data_path(self.path, value) for key, value in given.items()}

    def inputs(self) -> dict[str, Path]:
        """The files a run of this scenario reads, by what each is."""
        data = self.scenario.data
        return {
            "the scenario": self.path,
            "the allocations workbook (data.allocations)": self.resolve(data.allocations),
            "the placements register (data.placements)": self.resolve(data.placements),
            "the contracts register (data.contracts)": self.resolve(data.contracts),
        }

    def values(self) -> list[tuple[str, Any, str, str]]:
        """Every value used: (dotted key, JSON value, source, where it was given).

        The source is ``default``, ``scenario``, ``variant`` or ``--set`` (SPEC §15).
        """
        dumped = self.scenario.model_dump(mode="json", exclude={"variants"})
        by_key = {key: source for key, _, source in self.overrides}
        keys = [k.key for k in scenario_keys()]
        if isinstance(dumped.get("organisations"), dict):  # SPEC §14: its leaves, dotted
            keys += [k for k, _ in _leaves("organisations", dumped["organisations"])]
        out: list[tuple[str, Any, str, str]] = []
        for dotted in keys:
            parts = dotted.split(".")
            value: Any = dumped
            for p in parts:
                value = value.get(p) if isinstance(value, dict) else None
            source = by_key.get(dotted)
            if source is None:  # a variant or --set may give a whole section
                source = next((s for k, s in by_key.items() if dotted.startswith(k + ".")), None)
            node: Any = self.given
            for p in parts:
                node = node.get(p) if isinstance(node, dict) else None
            if source is None:
                source = "scenario" if node is not None else "default"
            place = self.where.get(tuple(parts), "") if source != "default" else ""
            if source.startswith("variant"):
                source = "variant"
            out.append((dotted, value, source, place))
        return out

    def warnings(self) -> tuple[Issue, ...]:
        """What the run is given but does not use, or allows but finds unusual.

        - ``setting-not-used``: a savings ``rate``, ``rates`` or ``amounts`` (of the plan or
          an organisation's target) that the target's kind does not use. Not when a
          variant or ``--set`` changed the kind away from the file's value: that is what
          variants are for.
        - ``dowries-over-cost``: the dowries one organisation pays for one setting add up
          to more than the placement's cost (SPEC §14 allows it).
        """
        out: list[Issue] = []
        sections: list[KeyPath] = [("savings",)]
        orgs = self.raw.get("organisations")
        targets = orgs.get("targets") if isinstance(orgs, dict) else None
        if isinstance(targets, dict):
            sections += [("organisations", "targets", org) for org in targets]
        for path in sections:
            section: Any = self.raw
            for key in path:
                section = section.get(key) if isinstance(section, dict) else None
            if not isinstance(section, dict):
                continue
            kind = match_choice(section.get("kind", ""), SAVINGS_KIND_LABELS)
            uses = KIND_USES.get(kind or "")
            if kind is None or uses is None:
                continue
            for key in KIND_USES.values():
                if key == uses or section.get(key) is None:
                    continue
                if self._layer((*path, key)) < self._layer((*path, "kind")):
                    continue  # left behind by a variant or --set that changed the kind
                dotted = ".".join(str(k) for k in (*path, key))
                out.append(
                    Issue(
                        "setting-not-used",
                        self.location((*path, key)),
                        f"{dotted} is not used with the savings kind "
                        f"{label_of(kind, SAVINGS_KIND_LABELS)!r}",
                        f"remove it, or change the kind; this kind uses {uses}",
                        severity=Severity.WARNING,
                    )
                )
        o = self.scenario.organisations
        if o is not None:
            shares: dict[tuple[str, str], tuple[Decimal, int]] = {}
            for i, d in enumerate(o.dowries):
                total, first = shares.get((d.payer, d.setting), (Decimal(0), i))
                shares[d.payer, d.setting] = (total + d.share, first)
            for (payer, setting), (total, first) in shares.items():
                if total > 1:
                    out.append(
                        Issue(
                            "dowries-over-cost",
                            self.location(("organisations", "dowries", first)),
                            f"the dowries {o.name(payer)} pays for "
                            f"{label_of(setting, SETTING_LABELS)} placements add up to "
                            f"{decimal_text(total * 100)} % of the placement's cost: after a "
                            "move it pays more each year than the placement cost",
                            "check the shares; each is a share of the placement's cost",
                            severity=Severity.WARNING,
                        )
                    )
        return tuple(out)

    def _layer(self, keys: KeyPath) -> int:
        """Which layer last gave ``keys``: 0 the file, 1 a variant, 2 ``--set``."""
        dotted = ".".join(str(k) for k in keys)
        for key, _, source in reversed(self.overrides):
            if dotted == key or dotted.startswith(key + "."):
                return 1 if source.startswith("variant") else 2
        return 0

    def location(self, keys: KeyPath) -> Location:
        """Where the scenario gives ``keys`` (or the deepest part of them it gives)."""
        place = locate(self.where, keys)
        return Location(f"{self.path}, {place}" if place else str(self.path))

    def assumptions(self) -> list[tuple[str, str]]:
        """Every value used, flattened to dotted keys (variants left out)."""
        data = self.scenario.model_dump(mode="json", exclude={"variants"})
        out: list[tuple[str, str]] = []

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            elif isinstance(value, list):
                out.append((prefix, ", ".join(str(v) for v in value)))
            else:
                out.append((prefix, "" if value is None else str(value)))

        walk("", data)
        return out


def _leaves(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """Mappings as dotted keys; lists are values (``organisations.dowries``)."""
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += _leaves(f"{prefix}.{k}", v)
        return out
    return [(prefix, value)]


@dataclass(frozen=True)
class ScenarioKey:
    """One key of the scenario as forms and docs show it (SPEC §8, §15)."""

    key: str  # dotted: "inflation.placements"
    kind: str  # rate | money | number | integer | text | choice | list of ... | ... or list
    description: str
    default: Any  # the default's JSON form; None when the key is required or has none
    required: bool
    choices: dict[str, str]  # id -> label, for choices


def scenario_keys(model: type[Frozen] = Scenario, prefix: str = "") -> tuple[ScenarioKey, ...]:
    """Every leaf key of the scenario model, in the model's order (variants left out)."""
    out: list[ScenarioKey] = []
    for name, info in model.model_fields.items():
        if name in ("variants", "organisations"):
            continue
        key = f"{prefix}{name}"
        if isinstance(info.annotation, type) and issubclass(info.annotation, Frozen):
            out += scenario_keys(info.annotation, f"{key}.")
            continue
        kind, choices = value_kind(info.annotation, info.metadata)
        default = info.default
        if isinstance(default, Decimal):
            default = decimal_text(default)
        elif info.is_required():
            default = None
        out.append(
            ScenarioKey(key, kind, info.description or "", default, info.is_required(), choices)
        )
    return tuple(out)


def resolve_data_path(scenario: Path, relative: str) -> Path:
    """A data path, relative to the scenario file ``scenario``.

    A relative path typed on Windows, with backslashes between its folders, is found
    on other systems too, where a backslash is not a separator.
    """
    p = Path(relative)
    p = p if p.is_absolute() else (scenario.parent / p)
    if "\\" in relative and os.sep == "/" and not p.exists():
        win = PureWindowsPath(relative)
        if not win.anchor and win.parts:
            typed_on_windows = scenario.parent.joinpath(*win.parts)
            if typed_on_windows.exists():
                return typed_on_windows
    return p


def data_file(scenario: Path, where: Mapping[KeyPath, str], key: str, given: str) -> Path:
    """The input file ``data.<key>`` of the scenario file ``scenario`` names (``given``).

    Raises:
        InputError: no such file (the key, where it was given, the resolved path).
    """
    path = resolve_data_path(scenario, given)
    if not path.is_file():
        place = where.get(("data", key), "")
        fix = "correct the path or put the file there"
        here = Path(given)
        if not here.is_absolute() and here.is_file():  # typed from where ras was run
            there = os.path.relpath(here.resolve(), scenario.parent.resolve())
            fix = f"{given} is in the current folder: give it as {there}, or in full"
        elif (other := _other_case(path)) is not None:  # typed on Windows, run elsewhere
            spelt = other if here.is_absolute() else os.path.relpath(other, scenario.parent)
            fix = f"the file is {quote(str(spelt))}: capitals count here, so give it so"
        raise InputError(
            f"{scenario}: {place + ': ' if place else ''}data.{key} is {quote(given)}, "
            f"but there is no file {path} (paths are relative to the scenario's folder); " + fix
        )
    return path


def missing_data_files(scenario: Path, where: Mapping[KeyPath, str], data: Any) -> list[str]:
    """A line for each file of a scenario's ``data`` (as given: not yet validated) not there."""
    if not isinstance(data, dict):
        return []
    lines = []
    for key in DATA_KEYS:
        given = data.get(key)
        if isinstance(given, str) and given.strip():
            try:
                data_file(scenario, where, key, given)
            except InputError as exc:
                lines.append(str(exc))
    return lines


def _other_case(path: Path) -> Path | None:
    """The one existing file whose path is ``path`` but for capitals, if there is one.

    Windows finds ``Data/Allocations.xlsx`` for ``data/allocations.xlsx``; other systems
    do not, so a scenario written on Windows may name its files so. Two files that both
    match are no answer.
    """
    found = [Path(path.anchor) if path.is_absolute() else Path()]
    for part in path.parts[1:] if path.is_absolute() else path.parts:
        step: list[Path] = []
        for folder in found:
            try:
                step += [p for p in folder.iterdir() if p.name.casefold() == part.casefold()]
            except OSError:
                continue
        found = step
        if not found or len(found) > 8:
            return None
    files = [p for p in found if p.is_file()]
    return files[0] if len(files) == 1 else None
