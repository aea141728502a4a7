"""Commissioner registers (SPEC §7): people in placements, block contracts and members."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ras.errors import Issue, Location


@dataclass(frozen=True)
class Placement:
    """A person in a placement (a row of the Placements sheet)."""

    person_id: str
    provider: str
    setting: str  # inpatient | out_of_area | residential
    annual_cost: Decimal  # weekly x weeks_per_year when weekly was given
    earliest_year: int = 1
    setup_cost: Decimal | None = None
    priority: Decimal | None = None
    stay: bool = False
    where: str = ""  # "placements.xlsx, sheet 'Placements', row 5"
    funder: str | None = None  # the Funder cell as typed (SPEC §14)
    funder_at: Location | None = None


@dataclass(frozen=True)
class Member:
    """A person in a block-contract place (a row of the Members sheet)."""

    contract_id: str
    person_id: str
    earliest_year: int = 1
    setup_cost: Decimal | None = None
    priority: Decimal | None = None
    stay: bool = False
    where: str = ""


@dataclass(frozen=True)
class Contract:
    """A block contract (a row of the Contracts sheet)."""

    contract_id: str
    provider: str
    service: str
    annual_value: Decimal
    units: int
    minimum_units: int
    notice_months: int
    decommission_cost: Decimal  # per unit released
    release_step: int = 1
    where: str = ""
    funder: str | None = None  # the Funder cell as typed (SPEC §14)
    funder_at: Location | None = None

    @property
    def unit_price(self) -> Decimal:
        """Annual value / units."""
        return self.annual_value / self.units

    @property
    def earliest_release_year(self) -> int:
        """n_c = 1 + ceil(notice months / 12)."""
        return 1 + -(-self.notice_months // 12)


@dataclass(frozen=True)
class Registers:
    """Both registers, validated."""

    placements: tuple[Placement, ...]
    contracts: tuple[Contract, ...]
    members: tuple[Member, ...]
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    warnings: tuple[Issue, ...] = ()  # rows used as read, that may not say what was meant

    def members_of(self, contract_id: str) -> list[Member]:
        """The members of one contract, in register order."""
        return [m for m in self.members if m.contract_id == contract_id]
