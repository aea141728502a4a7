"""Every table-shaped sheet ras reads or writes, declared once as data.

From these come the register templates, the readers' column look-up and type checks,
the writers' headings and money formats, and the column tables in
``docs/formats.md`` (``python tools/regenerate.py`` writes them; a test fails when
they are stale). A column whose name is in angle brackets stands for a group of
columns that depends on the point table (one per person field, domain or stream).
"""

from __future__ import annotations

from dataclasses import dataclass

from ras.choices import SAVINGS_KIND_LABELS, SETTING_LABELS


@dataclass(frozen=True)
class Column:
    """One column of a sheet."""

    name: str
    type: str  # text | money | number | integer | points | percent | choice | yes_no
    required: bool
    description: str
    choices: tuple[str, ...] = ()  # ids, as files keep them
    default: str = ""
    labels: tuple[str, ...] = ()  # how people read the choices (same order), if not the ids
    read: bool = True  # False: shown for people (notes, a formula of ras's), never read

    @property
    def choice_labels(self) -> dict[str, str]:
        """Each choice's id and the label people see (the id when it has none)."""
        return dict(zip(self.choices, self.labels or self.choices, strict=True))


@dataclass(frozen=True)
class SheetSchema:
    """A sheet: its name, its columns and what one row is."""

    sheet: str
    columns: tuple[Column, ...]
    note: str = ""
    workbook: str = ""  # the file it belongs to, e.g. "allocations.xlsx"

    def column(self, name: str) -> Column:
        """The column with this name."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def headers(self) -> tuple[str, ...]:
        """The column headings, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def money(self) -> tuple[str, ...]:
        """The headings of the money columns (written with the £ format)."""
        return tuple(c.name for c in self.columns if c.type == "money")


SETTINGS = tuple(SETTING_LABELS)

#: The Funder column of the registers (SPEC §14).
FUNDER = (
    "The organisation that pays (an id or name from the scenario's organisations); "
    "overrides the scenario's payer for this row."
)
#: The Earliest move year column of both registers.
_EARLIEST = "1 = first plan year, up to 50 (a plan year, not a calendar year)."

PLACEMENTS = SheetSchema(
    "Placements",
    (
        Column("Person ID", "text", True, "The person's ID, as in the allocations workbook."),
        Column("Provider", "text", True, "Who provides the placement."),
        Column(
            "Setting",
            "choice",
            True,
            "Kind of placement (the label or the id).",
            SETTINGS,
            labels=tuple(SETTING_LABELS.values()),
        ),
        Column("Weekly cost (£)", "money", False, "Cost per week (or give the annual cost)."),
        Column(
            "Annual cost (£)",
            "money",
            False,
            "Cost per year (or give the weekly cost); used when both are given.",
        ),
        Column("Earliest move year", "integer", False, _EARLIEST, default="1"),
        Column("Set-up cost (£)", "money", False, "Overrides the scenario's set-up cost."),
        Column("Priority", "number", False, "Overrides the setting's weight."),
        Column("Stay", "yes_no", False, "Y: this person never moves.", ("Y", "N"), "N"),
        Column("Funder", "text", False, FUNDER),
        Column("Notes", "text", False, "Free text; never logged or copied to outputs.", read=False),
    ),
    "One row per person in a placement; give Weekly or Annual cost.",
    "placements.xlsx",
)

CONTRACTS = SheetSchema(
    "Contracts",
    (
        Column("Contract ID", "text", True, "Unique ID of the block contract."),
        Column("Provider", "text", True, "Who holds the contract."),
        Column("Service", "text", True, "What the contract buys."),
        Column("Annual value (£)", "money", True, "What the contract costs a year."),
        Column("Units", "integer", True, "Places (units) the contract buys."),
        Column("Minimum units", "integer", True, "Units that must be kept to the end."),
        Column("Notice (months)", "integer", True, "Notice needed to release units."),
        Column("Decommission cost per unit (£)", "money", True, "One-off cost per unit released."),
        Column("Release step (units)", "integer", False, "Units released together.", default="1"),
        Column("Funder", "text", False, FUNDER),
    ),
    "One row per block contract.",
    "contracts.xlsx",
)

MEMBERS = SheetSchema(
    "Members",
    (
        Column("Contract ID", "text", True, "The contract the person's place is in."),
        Column("Person ID", "text", True, "The person's ID, as in the allocations workbook."),
        Column("Earliest move year", "integer", False, _EARLIEST, default="1"),
        Column("Set-up cost (£)", "money", False, "Overrides the scenario's set-up cost."),
        Column("Priority", "number", False, "Overrides the block weight."),
        Column("Stay", "yes_no", False, "Y: this person never moves.", ("Y", "N"), "N"),
    ),
    "One row per person in a block-contract place.",
    "contracts.xlsx",
)

REGISTERS: dict[str, tuple[SheetSchema, ...]] = {
    "placements.xlsx": (PLACEMENTS,),
    "contracts.xlsx": (CONTRACTS, MEMBERS),
}


def _c(name: str, type: str, description: str) -> Column:
    """An output column (always written)."""
    return Column(name, type, True, description)


# --------------------------------------------------------------- allocations.xlsx

#: Headings other commands look up (ras optimise reads budgets, calibrate costs).
PERSON_ID = "Person ID"
BUDGET = "Indicative budget (£/year)"
CURRENT_COST = "Current annual cost (£)"

ALLOCATIONS = SheetSchema(
    "Allocations",
    (
        _c(PERSON_ID, "text", "As on the assessment (or its pseudonym)."),
        _c("Source", "text", "The input file, and the row for bulk tables."),
        _c("<person field label>", "text", "One column per person field of the table."),
        _c("<domain label>", "points", "One column per domain: its points after any cap."),
        _c("Total points", "points", "The sum of the domains."),
        _c("Base (£)", "money", "Points converted to money (rate, band or curve)."),
        _c("Adjustments (£)", "money", "What the percentage adjustments added or took."),
        _c("Top-ups (£)", "money", "The fixed amounts added."),
        _c(BUDGET, "money", "After the limits, rounded half-up."),
        _c("Weekly (£)", "money", "The annual budget / weeks per year."),
        _c("Range low (£)", "money", "The indicative range's low end."),
        _c("Range high (£)", "money", "The indicative range's high end."),
        _c("Funding: <stream> (£)", "money", "One column per funding stream; they sum."),
        _c("Flags", "text", "floor, ceiling, and the assessment's warnings."),
        _c(CURRENT_COST, "money", "The person field current_annual_cost."),
        _c("Difference (£)", "money", "Indicative budget - current annual cost."),
        _c("Budget sheet", "text", "The file name of the person's budget sheet, if any."),
    ),
    "One row per person scored.",
    "allocations.xlsx",
)
EXPLANATIONS = SheetSchema(
    "Explanations",
    (
        _c("Person ID", "text", "Whose budget the step belongs to."),
        _c(
            "Step",
            "text",
            "Answer, Domain, Total points, Conversion, Adjustment, Top-up, "
            "Limits, Rounding, Weekly, Range or Funding.",
        ),
        _c("Item", "text", "The question, domain, adjustment or stream."),
        _c("Points", "points", "Points at this step."),
        _c("Amount (£)", "money", "Money at this step."),
        _c("Note", "text", "The working, in words."),
    ),
    "One row per step per person: the audit trail of SPEC §3.1, for people to read.",
    "allocations.xlsx",
)
ANSWERS = SheetSchema(
    "Answers",
    (
        _c("Person ID", "text", "Whose answer it is."),
        _c("Question ID", "text", "The question's ID in the point table."),
        _c("Answer", "text", "The answer, exactly as the table spells it."),
        _c("Points", "points", "The points the answer gives."),
    ),
    "One row per question answered: what `ras calibrate` and `ras transition` read.",
    "allocations.xlsx",
)
EXCEPTIONS = SheetSchema(
    "Exceptions",
    (
        _c("Source", "text", "The file."),
        _c("Sheet", "text", "The sheet, when known."),
        _c("Cell", "text", "The cell (C7) or the row of a bulk table (row 12)."),
        _c("Person ID", "text", "The person, when known."),
        _c("Problem", "text", "What is wrong, quoting at most 80 characters of the input."),
        _c("How to fix", "text", "What to do about it."),
    ),
    "One row per problem that rejected an input, and one per budget sheet that could not "
    "be written for a person scored (`Warnings`: the same columns, for inputs scored with "
    "a caveat).",
    "allocations.xlsx",
)
RUN = SheetSchema(
    "Run",
    (
        _c("Item", "text", "ras version, table, start time, option, input file, ..."),
        _c("Value", "text", "Its value."),
        _c("sha256", "text", "The input file's hash."),
    ),
    "How the workbook was made.",
    "allocations.xlsx",
)

# --------------------------------------------------------------------- plan.xlsx

YEARS = SheetSchema(
    "Summary",
    (
        _c("Year", "integer", "Plan year (1 = the year after the base year)."),
        _c("Financial year", "text", "The plan year as a financial year, e.g. 2027/28."),
        _c("Baseline (£)", "money", "Spend if nobody moved."),
        _c("Spend (£)", "money", "Spend under the plan."),
        _c("Savings (£)", "money", "Baseline - spend."),
        _c("Target", "money", "The savings the target requires."),
        _c("Met", "yes_no", "Whether the year's target is met (within £1)."),
        _c("Shortfall (£)", "money", "How far savings fall short (0 when met)."),
        _c("Moves", "integer", "People who move this year."),
        _c("People in individual budgets", "integer", "Everyone moved so far."),
        _c("Units released", "integer", "Block-contract units released this year."),
    ),
    "The year table on the Summary sheet.",
    "plan.xlsx",
)
MOVES = SheetSchema(
    "Moves",
    (
        _c("Person ID", "text", "Who moves."),
        _c("From", "text", "The placement's provider, or the contract."),
        _c("Setting", "text", "Inpatient, Out of area, Residential or Block contract."),
        _c("Year", "integer", "The plan year of the move."),
        _c("Financial year", "text", "The plan year as a financial year, e.g. 2027/28."),
        _c("Current annual cost (£)", "money", "Today's cost of the placement (or unit)."),
        _c("Indicative budget (£/year)", "money", "From allocations.xlsx."),
        _c("Transition cost (£)", "money", "Set-up and double running."),
        _c("Annual saving (£)", "money", "Current cost - budget, at year-0 prices."),
    ),
    "One row per person who moves.",
    "plan.xlsx",
)
CONTRACT_YEARS = SheetSchema(
    "Contracts",
    (
        _c("Contract ID", "text", "The block contract."),
        _c("Provider", "text", "Who holds it."),
        _c("Year", "integer", "Plan year."),
        _c("Financial year", "text", "The plan year as a financial year, e.g. 2027/28."),
        _c("Units at start", "integer", "Units held at the start of the year."),
        _c("Units released", "integer", "Units released this year."),
        _c("Units retained", "integer", "Units held after the release."),
        _c("Annual value (£)", "money", "What the units retained cost this year."),
        _c("Decommission cost (£)", "money", "One-off cost of this year's releases."),
    ),
    "One row per contract per year.",
    "plan.xlsx",
)
PEOPLE = SheetSchema(
    "People",
    (
        _c("Person ID", "text", "Everyone in the registers."),
        _c(
            "Setting",
            "text",
            "Where they are today: Inpatient, Out of area, Residential or Block contract.",
        ),
        _c("Status", "text", "Moves in year N, stays, or why they cannot move."),
    ),
    "One row per registered person.",
    "plan.xlsx",
)
SPEND = SheetSchema(
    "Spend",
    (
        _c("Year", "integer", "0 = the base year."),
        _c("Financial year", "text", "The plan year as a financial year, e.g. 2027/28."),
        _c("Placements (£)", "money", "Placements still running."),
        _c("Individual budgets (£)", "money", "Budgets of the people moved."),
        _c("Overheads (£)", "money", "Per-budget overheads."),
        _c("Transition (£)", "money", "Set-up and double running."),
        _c("Contracts (£)", "money", "Block contracts (units retained)."),
        _c("Decommissioning (£)", "money", "Cost of releasing units."),
        _c("Total (£)", "money", "The sum of the above."),
    ),
    "One row per year: what the money is spent on.",
    "plan.xlsx",
)
ORGANISATIONS = SheetSchema(
    "Organisations",
    (
        _c("Year", "integer", "Plan year."),
        _c("Financial year", "text", "The plan year as a financial year, e.g. 2027/28."),
        _c("Organisation", "text", "The organisation's name; `System` is the whole plan."),
        _c("Baseline (£)", "money", "What it would pay if nobody moved."),
        _c("Placements (£)", "money", "Placements it pays for that are still running."),
        _c("Individual budgets (£)", "money", "Its share of the budgets of the people moved."),
        _c("Overheads (£)", "money", "Its share of the per-budget overheads."),
        _c("Transition (£)", "money", "Its share of set-up; double running of its placements."),
        _c("Contracts (£)", "money", "Block contracts it pays for (units retained)."),
        _c("Decommissioning (£)", "money", "Cost of releasing units of its contracts."),
        _c("Dowries paid (£)", "money", "Dowries it pays for people who moved."),
        _c("Dowries received (£)", "money", "Dowries it receives."),
        _c("Net spend (£)", "money", "Spend + dowries paid - dowries received."),
        _c("Savings (£)", "money", "Baseline - net spend."),
        _c("Limit", "text", "`no worse off`, `target`, or empty when it has none."),
        _c("Target (£)", "money", "The savings its limit requires (no worse off: 0)."),
        _c("Met", "yes_no", "Whether its limit holds (within £1); empty without one."),
    ),
    "Only with `organisations:` in the scenario (SPEC §14): one row per organisation and "
    "year, then a `System` row; the organisations' rows add up to the System row.",
    "plan.xlsx",
)
ASSUMPTIONS = SheetSchema(
    "Assumptions",
    (
        _c("Key", "text", "A scenario key (dotted), an override, `input file`, or `warning`."),
        _c("Value", "text", "The value used."),
        _c("sha256", "text", "An input file's hash; for overrides, where they came from."),
    ),
    "Every value the plan used.",
    "plan.xlsx",
)
SOLVER = SheetSchema(
    "Solver",
    (
        _c("Stage", "text", "personalise, save or shortfall; then build and whole run."),
        _c("Solver", "text", "Solver and version (the time limit on the whole-run row)."),
        _c("Status", "text", "How the stage ended (the plan's status on the whole-run row)."),
        _c("Objective", "number", "The stage's objective."),
        _c("Bound", "number", "The best bound the solver proved."),
        _c("Gap", "percent", "Relative gap between objective and bound."),
        _c("Time (s)", "number", "Seconds."),
        _c("Variables", "integer", "Size of the model."),
        _c("Constraints", "integer", "Size of the model."),
    ),
    "One row per solver stage, then the build and the whole run.",
    "plan.xlsx",
)

# -------------------------------------------------------------------- risk.xlsx

RISK_YEARS = SheetSchema(
    "Years",
    (
        _c("Year", "integer", "Plan year."),
        _c("Financial year", "text", "The plan year as a financial year, e.g. 2027/28."),
        _c("Plan", "text", "`optimised`, or `robust` (the plan at the robust margin)."),
        _c("Share meeting target", "percent", "Of the draws, those meeting this year's target."),
        _c("Spend P10 (£)", "money", "10 % of draws spend less than this."),
        _c("Spend P50 (£)", "money", "The median draw's spend."),
        _c("Spend P90 (£)", "money", "10 % of draws spend more than this."),
        _c("Savings P10 (£)", "money", "10 % of draws save less than this."),
        _c("Savings P50 (£)", "money", "The median draw's savings."),
        _c("Savings P90 (£)", "money", "10 % of draws save more than this."),
        _c("Planned spend (£)", "money", "The plan's own spend (no draws)."),
        _c("Most spend allowed (£)", "money", "What the target allows the plan to spend."),
    ),
    "One row per plan and year.",
    "risk.xlsx",
)
RISK_PLANS = SheetSchema(
    "Plans",
    (
        _c("Person ID", "text", "Everyone either plan moves."),
        _c("Optimised: year", "integer", "The year the optimised plan moves them (empty: not)."),
        _c("Robust: year", "integer", "The year the robust plan moves them (empty: not)."),
    ),
    "One row per person moved, then (below) one row per contract and year with releases: "
    "`Contract ID`, `Year`, `Optimised: units released`, `Robust: units released`.",
    "risk.xlsx",
)
RISK_RELEASES = (
    "Contract ID",
    "Year",
    "Optimised: units released",
    "Robust: units released",
)
RISK_DRAWS = SheetSchema(
    "Draws",
    (
        _c("Year", "integer", "Plan year."),
        _c("Plan", "text", "`optimised` or `robust`."),
        _c("Mean extra spend (£)", "money", "The draws' mean spend above the plan's."),
        _c("Largest extra spend (£)", "money", "The most any draw spent above the plan."),
        _c("Share meeting target", "percent", "As on the Years sheet."),
    ),
    "One row per plan and year, under the draws' settings (samples, seed, distributions).",
    "risk.xlsx",
)

# -------------------------------------------------------------- calibration.xlsx

SAMPLE = SheetSchema(
    "Sample",
    (
        _c("Person ID", "text", "A person with a current annual cost."),
        _c("Group", "text", "The rates_by group the person was fitted in."),
        _c("Total points", "points", "Their points."),
        _c("Current annual cost (£)", "money", "What their support costs today."),
        _c("Fitted (£)", "money", "What the fitted table gives."),
        _c("Residual (£)", "money", "Cost - fitted."),
        _c("% error", "percent", "|residual| / cost."),
        _c("Outlier", "yes_no", "Whether the error is above the tolerance."),
        _c("Indicative budget (£/year)", "money", "Under the current table."),
        _c("Range low (£)", "money", "The current indicative range."),
        _c("Range high (£)", "money", "The current indicative range."),
    ),
    "One row per person in the fit.",
    "calibration.xlsx",
)

# --------------------------------------------------------------- comparison.xlsx

RUNS = SheetSchema(
    "Runs",
    (
        _c("Run", "text", "base, or the variant's name."),
        _c("Status", "text", "The plan's status, or FAILED."),
        _c("Target met", "yes_no", "Whether every year's target is met."),
        _c("People moved", "integer", "People who move over the plan."),
        _c("Weighted person-years", "number", "The personalisation objective."),
        _c("Total savings (£)", "money", "Savings over the plan."),
        _c("Problem", "text", "Why a run failed."),
    ),
    "One row per run: the base scenario and each variant.",
    "comparison.xlsx",
)

ORGANISATION_RUNS = SheetSchema(
    "Organisations",
    (
        _c("Run", "text", "base, or the variant's name."),
        _c("Organisation", "text", "The organisation's name."),
        _c("Limit", "text", "`no worse off`, `target`, or empty."),
        _c("Met", "yes_no", "Whether its limit holds every year; empty without one."),
        _c("Savings over the plan (£)", "money", "The sum of its yearly savings."),
        _c("<financial year> (£)", "money", "One column per plan year: its savings that year."),
    ),
    "Only when the runs have organisations (SPEC §14): one row per run and organisation.",
    "comparison.xlsx",
)

FRONTIER = SheetSchema(
    "Frontier",
    (
        _c("Savings rate", "percent", "The rate the base was solved at."),
        _c("Status", "text", "The plan's status, or FAILED."),
        _c("Weighted person-years", "number", "The personalisation objective."),
        _c("People moved", "integer", "People who move over the plan."),
        _c("Total savings (£)", "money", "Savings over the plan."),
        _c(
            "Note",
            "text",
            "Flags a rate that saves less in total than a lower rate, or says why a rate's "
            "run has no plan.",
        ),
    ),
    "One row per savings rate of `--frontier`.",
    "comparison.xlsx",
)


# --------------------------------------------------------- self-assessment workbook

PERSON = SheetSchema(
    "Person",
    (
        Column("Field", "text", True, "Person ID, then each person field's label."),
        Column(
            "Value", "text", True, "The person's value (a drop-down where the table lists options)."
        ),
    ),
    "One row per field; found by the header row `Field`, `Value` (rows may move).",
    "assessment.xlsx",
)
QUESTIONNAIRE = SheetSchema(
    "Questionnaire",
    (
        Column("Domain", "text", False, "The domain's label (for reading only)."),
        Column("Question ID", "text", True, "The question's ID in the table."),
        Column("Question", "text", False, "The question (for reading only)."),
        Column("Answer", "text", True, "The answer, from the drop-down."),
        Column("Notes", "text", False, "Free text; never read, logged or copied.", read=False),
    ),
    "One row per question; found by the header row with `Question ID` and `Answer`.",
    "assessment.xlsx",
)

# ------------------------------------------------------------ point table workbook


def _t(sheet: str, columns: tuple[Column, ...], note: str) -> SheetSchema:
    return SheetSchema(sheet, columns, note, "table.xlsx")


_CONDITION = (
    Column("Question", "text", False, "A question ID (with Answer), or leave empty."),
    Column("Answer", "text", False, "The answer that must be given."),
    Column("Field", "text", False, "A person field ID (with Equals), or leave empty."),
    Column("Equals", "text", False, "The value the field must have."),
)
TABLE = _t(
    "Table",
    (
        Column(
            "Key",
            "text",
            True,
            "ras_table, name, version, currency, weeks_per_year, "
            "method, rate, rates_by, floor, ceiling, rounding, range.",
        ),
        Column("Value", "text", True, "As the YAML key of the same name."),
    ),
    "One row per setting.",
)
TABLE_PERSON_FIELDS = _t(
    "Person fields",
    (
        Column("ID", "text", True, "The field's ID."),
        Column("Label", "text", True, "Its label on the Person sheet."),
        Column("Type", "choice", True, "text, money or number.", ("text", "money", "number")),
        Column("Required", "yes_no", True, "Whether it must be filled in.", ("TRUE", "FALSE")),
        Column("Option", "text", False, "One allowed value (a row per option)."),
        Column("Option label", "text", False, "How people see the option, if not as its id."),
        Column(
            "Asked",
            "yes_no",
            False,
            "FALSE: the council fills it in; the person is not asked.",
            ("TRUE", "FALSE"),
            default="TRUE",
        ),
    ),
    "One row per option (one row for a field without options).",
)
TABLE_QUESTIONS = _t(
    "Questions",
    (
        Column("Domain ID", "text", True, "The domain's ID."),
        Column("Domain", "text", True, "Its label."),
        Column("Funding", "text", False, "Its funding stream."),
        Column("Cap", "points", False, "The most points the domain gives."),
        Column("Question ID", "text", True, "Unique in the table."),
        Column("Question", "text", True, "The question."),
        Column("Required", "yes_no", True, "Whether it must be answered.", ("TRUE", "FALSE")),
        Column("Answer", "text", True, "One answer (a row per answer, in drop-down order)."),
        Column("Points", "points", True, "Its points (0 or more)."),
    ),
    "One row per answer.",
)
TABLE_RATES = _t(
    "Rates",
    (
        Column("Value", "text", True, "A value of the rates_by field."),
        Column("Rate", "money", True, "£ per point per year for it."),
    ),
    "One row per value.",
)
TABLE_BANDS = _t(
    "Bands",
    (
        Column("Min", "points", True, "Lowest points of the band (inclusive)."),
        Column("Max", "points", True, "Highest points of the band (inclusive)."),
        Column("Amount", "money", True, "The band's amount a year."),
    ),
    "One row per band, from 0, contiguous.",
)
TABLE_CURVE = _t(
    "Curve",
    (
        Column("Points", "points", True, "A knot's points (the first at 0)."),
        Column("Amount", "money", True, "The amount a year at that many points."),
    ),
    "One row per knot, points rising.",
)
TABLE_ADJUSTMENTS = _t(
    "Adjustments",
    (
        Column("ID", "text", True, "The adjustment's ID."),
        Column(
            "Percent",
            "number",
            True,
            "Applied when every condition holds, in percent: -15 for a 15 % cut (a cell "
            "formatted as a percentage keeps -15% as -0.15, which is refused).",
        ),
        *_CONDITION,
    ),
    "One row per condition.",
)
TABLE_TOP_UPS = _t(
    "Top-ups",
    (
        Column("ID", "text", True, "The top-up's ID."),
        Column("Amount", "money", True, "Added when every condition holds."),
        *_CONDITION,
    ),
    "One row per condition.",
)
TABLE_CEILINGS = _t(
    "Ceilings",
    (
        Column("Field", "text", True, "The person field the ceiling depends on."),
        Column("Value", "text", True, "A value of that field."),
        Column("Ceiling", "money", True, "The highest budget for it."),
    ),
    "One row per value (limits.ceilings_by).",
)
TABLE_FUNDING = _t(
    "Funding streams",
    (
        Column("ID", "text", True, "A stream that domains name in Funding."),
        Column("Label", "text", True, "How outputs show it: Social care."),
    ),
    "Optional: one row per funding stream that has a label.",
)
TABLE_SHEETS = (
    TABLE,
    TABLE_PERSON_FIELDS,
    TABLE_FUNDING,
    TABLE_QUESTIONS,
    TABLE_RATES,
    TABLE_BANDS,
    TABLE_CURVE,
    TABLE_ADJUSTMENTS,
    TABLE_TOP_UPS,
    TABLE_CEILINGS,
)


TRANSITION_PEOPLE = SheetSchema(
    "People",
    (
        _c("Person ID", "text", "Matched by Person ID across OLD and NEW."),
        _c("Old budget (£)", "money", "b_0: the budget today (OLD)."),
        _c("New budget (£)", "money", "n: under the new table (NEW, scaled with affordability)."),
        _c("Change (£)", "money", "n - b_0."),
        _c("Change (%)", "percent", "(n - b_0) / b_0."),
        _c("Band", "text", "The band of change, or only in OLD / only in NEW."),
        _c("<year budget>", "money", "Year 1 (£) ... Year N (£): the budget paid each year."),
        _c("Protection", "text", "protected, or why not (not needed, need fell, ...)."),
        _c("Old points", "points", "Total points under the old table (ras workbooks)."),
        _c("New points", "points", "Total points under the new table."),
        _c("Answers that changed", "text", "Old → new answer and its effect in points."),
    ),
    "One row per person (person field columns follow Person ID).",
    "transition.xlsx",
)


def _s(sheet: str, columns: tuple[Column, ...], note: str) -> SheetSchema:
    return SheetSchema(sheet, columns, note, "scenario.xlsx")


SCENARIO_VALUES = _s(
    "Scenario",
    (
        Column("Key", "text", True, "A scenario key, dotted: `inflation.placements`."),
        Column("Value", "text", False, "Its value; empty for the default."),
        Column("Notes", "text", False, "What the key means (ras ignores this column).", read=False),
    ),
    "One row per key (every key is listed below).",
)
SCENARIO_YEARS = _s(
    "Years",
    (
        Column("Year", "integer", True, "Plan year, 1 to the horizon."),
        Column(
            "Financial year",
            "text",
            False,
            "Shown for reading (`2027/28`); ras ignores it.",
            read=False,
        ),
        Column("Moves", "integer", False, "Moves that year; overrides capacity.moves_per_year."),
        Column(
            "Savings rate",
            "percent",
            False,
            "vs_baseline only: that year's rate; overrides savings.rate.",
        ),
        Column("Savings amount (£)", "money", False, "absolute only: that year's £ to save."),
    ),
    "One row per plan year; a value here overrides the Scenario sheet's for that year.",
)
SCENARIO_DATA = _s(
    "Data",
    (
        Column(
            "Input",
            "choice",
            True,
            "Which input.",
            ("allocations", "placements", "contracts"),
        ),
        Column("Path", "text", True, "The file, relative to the scenario workbook's folder."),
        Column("Notes", "text", False, "What the file is (ras ignores this column).", read=False),
    ),
    "One row per input file.",
)
SCENARIO_VARIANTS = _s(
    "Variants",
    (
        Column("Variant", "text", True, "The variant's name (`ras optimise --variant NAME`)."),
        Column("Key", "text", True, "A scenario key it changes, dotted."),
        Column(
            "Value",
            "text",
            True,
            "The value in the variant; per-year lists separated by `;` (`2%; 3%; 4%`).",
        ),
    ),
    "One row per key a variant changes.",
)
SCENARIO_ORGANISATIONS = _s(
    "Organisations",
    (
        Column(
            "Organisation", "text", True, "The organisation's id (`icb`), used everywhere else."
        ),
        Column("Name", "text", False, "How outputs show it (`Integrated care board`)."),
        Column(
            "Pays placements",
            "text",
            False,
            "The settings whose placements it pays, separated by `;` or `,` "
            "(`Inpatient; Out of area`).",
        ),
        Column(
            "Pays funding streams",
            "text",
            False,
            "The funding streams of budgets it pays, by id or label, separated by `;` "
            "(`health`); `unassigned` pays every stream no one else does.",
        ),
        Column("Pays contracts", "yes_no", False, "Y: it pays the block contracts.", ("Y", "N")),
        Column(
            "No worse off",
            "yes_no",
            False,
            "Y: it never spends more than its baseline.",
            ("Y", "N"),
        ),
        Column(
            "Target kind",
            "choice",
            False,
            "Its own savings target, as savings.kind (empty: none).",
            tuple(SAVINGS_KIND_LABELS),
            labels=tuple(SAVINGS_KIND_LABELS.values()),
        ),
        Column(
            "Target rate",
            "percent",
            False,
            "year_on_year: one rate; vs_baseline: one per year separated by `;`.",
        ),
        Column(
            "Target amounts (£)",
            "money",
            False,
            "absolute: one amount per year separated by `;` (`£10,000; £20,000`).",
        ),
    ),
    "Only for a plan with organisations (SPEC §14): one row per organisation.",
)
SCENARIO_DOWRIES = _s(
    "Dowries",
    (
        Column("From", "text", True, "The organisation that pays (the placement's payer)."),
        Column("To", "text", True, "The organisation that receives the dowry."),
        Column(
            "Setting",
            "choice",
            True,
            "The placements it applies to.",
            SETTINGS,
            labels=tuple(SETTING_LABELS.values()),
        ),
        Column("Share", "percent", True, "The share of the placement's annual cost, each year."),
    ),
    "One row per dowry: money that follows people who move out of a setting's placements.",
)
SCENARIO_SHEETS = (
    SCENARIO_VALUES,
    SCENARIO_YEARS,
    SCENARIO_DATA,
    SCENARIO_VARIANTS,
    SCENARIO_ORGANISATIONS,
    SCENARIO_DOWRIES,
)


#: Every declared sheet, by the name its section in docs/formats.md is marked with.
SHEETS: dict[str, SheetSchema] = {
    "placements": PLACEMENTS,
    "contracts": CONTRACTS,
    "members": MEMBERS,
    "allocations": ALLOCATIONS,
    "explanations": EXPLANATIONS,
    "answers": ANSWERS,
    "exceptions": EXCEPTIONS,
    "run": RUN,
    "plan-years": YEARS,
    "moves": MOVES,
    "contract-years": CONTRACT_YEARS,
    "people": PEOPLE,
    "spend": SPEND,
    "organisations": ORGANISATIONS,
    "assumptions": ASSUMPTIONS,
    "solver": SOLVER,
    "sample": SAMPLE,
    "risk-years": RISK_YEARS,
    "risk-plans": RISK_PLANS,
    "risk-draws": RISK_DRAWS,
    "runs": RUNS,
    "organisation-runs": ORGANISATION_RUNS,
    "frontier": FRONTIER,
    "person": PERSON,
    "questionnaire": QUESTIONNAIRE,
    **{f"table-{t.sheet.lower().replace(' ', '-')}": t for t in TABLE_SHEETS},
    **{f"scenario-{t.sheet.lower()}": t for t in SCENARIO_SHEETS},
    "transition-people": TRANSITION_PEOPLE,
}


def _type_text(c: Column) -> str:
    if c.choices and c.type in ("choice", "yes_no"):
        return " \\| ".join(
            f"`{i}`" if label == i else f"{label} (`{i}`)" for i, label in c.choice_labels.items()
        )
    return c.type


def columns_markdown(workbook: str) -> str:
    """The column tables of every declared sheet of a workbook, for docs/formats.md.

    ``workbook`` is a file name (``plan.xlsx``) or ``registers`` (both register files).
    """
    files = tuple(REGISTERS) if workbook == "registers" else (workbook,)
    inputs = workbook in ("registers", "table.xlsx", "assessment.xlsx", "scenario.xlsx")
    parts: list[str] = []
    for schema in SHEETS.values():
        if schema.workbook not in files:
            continue
        where = f"`{schema.workbook}`, sheet `{schema.sheet}`"
        if schema.workbook in ("table.xlsx", "assessment.xlsx"):
            where = f"Sheet `{schema.sheet}`"
        if schema is YEARS:
            where = "`plan.xlsx`, the year table on sheet `Summary`"
        parts.append(f"{where}: {schema.note}")
        parts.append("")
        if inputs:
            parts += ["| column | type | required | meaning |", "|---|---|---|---|"]
            for c in schema.columns:
                needed = "yes" if c.required else (f"no (`{c.default}`)" if c.default else "no")
                parts.append(f"| `{c.name}` | {_type_text(c)} | {needed} | {c.description} |")
        else:
            parts += ["| column | type | meaning |", "|---|---|---|"]
            for c in schema.columns:
                parts.append(f"| `{c.name}` | {_type_text(c)} | {c.description} |")
        parts.append("")
    return "\n".join(parts).rstrip("\n") + "\n"


#: The workbooks whose column tables docs/formats.md carries, between the markers
#: ``<!-- columns: NAME -->`` and ``<!-- end columns -->``.
DOCUMENTED = (
    "table.xlsx",
    "assessment.xlsx",
    "registers",
    "allocations.xlsx",
    "plan.xlsx",
    "calibration.xlsx",
    "comparison.xlsx",
    "risk.xlsx",
    "scenario.xlsx",
    "transition.xlsx",
)


def scenario_keys_markdown() -> str:
    """The table of every scenario key (YAML and the workbook's Scenario sheet)."""
    from ras.models.scenario import scenario_keys

    parts = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for k in scenario_keys():
        kind = k.kind
        if k.choices:
            kind = " \\| ".join(f"{label} (`{i}`)" for i, label in k.choices.items())
        default = "required" if k.required else ("—" if k.default is None else f"`{k.default}`")
        parts.append(f"| `{k.key}` | {kind} | {default} | {k.description} |")
    return "\n".join(parts) + "\n"


def with_columns(markdown: str) -> str:
    """``docs/formats.md`` with every marked column table made afresh from the schemas."""
    import re

    def fill(m: re.Match[str]) -> str:
        return f"{m.group(1)}\n{columns_markdown(m.group(2))}{m.group(3)}"

    pattern = r"(<!-- columns: (\S+) -->)\n.*?(<!-- end columns -->)"
    markdown = re.sub(pattern, fill, markdown, flags=re.S)
    keys = r"(<!-- scenario keys -->)\n.*?(<!-- end scenario keys -->)"
    return re.sub(
        keys,
        lambda m: f"{m.group(1)}\n{scenario_keys_markdown()}{m.group(2)}",
        markdown,
        flags=re.S,
    )
