"""Workbook schemas as data: one table per input sheet (SPEC §7).

From these come the register templates, the reader's column look-up, the
validator's type checks and the column lists in ``docs/formats.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of an input sheet."""

    name: str
    type: str  # text | money | number | integer | choice | yes_no
    required: bool
    description: str
    choices: tuple[str, ...] = ()
    default: str = ""


@dataclass(frozen=True)
class SheetSchema:
    """An input sheet: its name and columns."""

    sheet: str
    columns: tuple[Column, ...]
    note: str = ""

    def column(self, name: str) -> Column:
        """The column with this name."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SETTINGS = ("inpatient", "out_of_area", "residential")

PLACEMENTS = SheetSchema(
    "Placements",
    (
        Column("Person ID", "text", True, "The person's ID, as in the allocations workbook."),
        Column("Provider", "text", True, "Who provides the placement."),
        Column("Setting", "choice", True, "Kind of placement.", SETTINGS),
        Column("Weekly cost (£)", "money", False, "Cost per week (or give the annual cost)."),
        Column("Annual cost (£)", "money", False, "Cost per year (or give the weekly cost)."),
        Column("Earliest move year", "integer", False, "1 = first plan year.", default="1"),
        Column("Set-up cost (£)", "money", False, "Overrides the scenario's set-up cost."),
        Column("Priority", "number", False, "Overrides the setting's weight."),
        Column("Stay", "yes_no", False, "Y: this person never moves.", ("Y", "N"), "N"),
        Column("Notes", "text", False, "Free text; never logged or copied to outputs."),
    ),
    "One row per person in a placement; give Weekly or Annual cost.",
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
    ),
    "One row per block contract.",
)

MEMBERS = SheetSchema(
    "Members",
    (
        Column("Contract ID", "text", True, "The contract the person's place is in."),
        Column("Person ID", "text", True, "The person's ID, as in the allocations workbook."),
        Column("Earliest move year", "integer", False, "1 = first plan year.", default="1"),
        Column("Set-up cost (£)", "money", False, "Overrides the scenario's set-up cost."),
        Column("Priority", "number", False, "Overrides the block weight."),
        Column("Stay", "yes_no", False, "Y: this person never moves.", ("Y", "N"), "N"),
    ),
    "One row per person in a block-contract place.",
)

REGISTERS: dict[str, tuple[SheetSchema, ...]] = {
    "placements.xlsx": (PLACEMENTS,),
    "contracts.xlsx": (CONTRACTS, MEMBERS),
}
