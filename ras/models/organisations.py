"""Organisations in the transfer plan (SPEC §14): who pays, dowries, protections.

A strict, frozen section of the scenario. Every organisation named anywhere in it must
be one of ``ids``; a reference may be typed as the id or the organisation's name in any
case or spacing (``NHS England``, ``nhse``), and is kept as the id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from ras.choices import SETTING_LABELS, choice_key, match_choice
from ras.errors import KeyPath, ModelProblem, quote
from ras.models.base import Frozen, Share, choice_of
from ras.models.savings import Savings

PlacementSetting = Annotated[
    Literal["inpatient", "out_of_area", "residential"], choice_of(SETTING_LABELS)
]

#: The payer of a funding stream that ``budgets`` does not name (SPEC §14).
UNASSIGNED = "unassigned"


class Dowry(Frozen):
    """Money that follows a person out of a placement, every year from the move."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    payer: str = Field(
        alias="from", description="The organisation that pays the dowry (the placement's payer)."
    )
    to: str = Field(description="The organisation that receives it.")
    setting: PlacementSetting = Field(description="The placements it applies to.")
    share: Share = Field(
        description="The share of the placement's annual cost paid each year, e.g. 100%."
    )


def _in_order(data: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """One order for every way of writing the section (so conversions keep it).

    By organisation, as ``ids`` lists them; a payer's settings in the order of SPEC §7.
    """

    def rank(org: Any) -> int:
        return ids.index(org) if org in ids else len(ids)

    def setting_rank(text: Any) -> int:
        hit = match_choice(text, SETTING_LABELS) if isinstance(text, str) else None
        return list(SETTING_LABELS).index(hit) if hit else len(SETTING_LABELS)

    if isinstance(data.get("placements"), dict):
        data["placements"] = dict(
            sorted(data["placements"].items(), key=lambda kv: (rank(kv[1]), setting_rank(kv[0])))
        )
    if isinstance(data.get("budgets"), dict):
        data["budgets"] = dict(sorted(data["budgets"].items(), key=lambda kv: rank(kv[1])))
    if isinstance(data.get("no_worse_off"), list):
        data["no_worse_off"] = sorted(data["no_worse_off"], key=rank)
    if isinstance(data.get("targets"), dict):
        data["targets"] = dict(sorted(data["targets"].items(), key=lambda kv: rank(kv[0])))
    if isinstance(data.get("names"), dict):
        data["names"] = dict(sorted(data["names"].items(), key=lambda kv: rank(kv[0])))
    return data


def _named_twice(key: str, names: list[Any]) -> list[tuple[KeyPath, str]]:
    """Keys of ``placements`` or ``budgets`` that name one setting or stream twice."""
    first: dict[str, Any] = {}
    out: list[tuple[KeyPath, str]] = []
    for name in names:
        same = match_choice(name, SETTING_LABELS) if key == "placements" else None
        k = same or choice_key(name)
        if k in first:
            what = "setting" if key == "placements" else "funding stream"
            out.append(
                (
                    (key, name),
                    f"{quote(str(name))} and {quote(str(first[k]))} are one {what}; "
                    "give it one payer",
                )
            )
        else:
            first[k] = name
    return out


class Organisations(Frozen):
    """The partners of the plan and what each pays (SPEC §14)."""

    ids: tuple[str, ...] = Field(description="The organisations' ids: nhse, icb, council.")
    names: dict[str, str] = Field(
        default_factory=dict, description="Names to show for ids: {nhse: NHS England}."
    )
    placements: dict[PlacementSetting, str] = Field(
        default_factory=dict, description="Payer of each setting's placements."
    )
    contracts: str | None = Field(default=None, description="Default payer of block contracts.")
    budgets: dict[str, str] = Field(
        default_factory=dict,
        description="Payer of each funding stream of the budgets (unassigned: the rest).",
    )
    dowries: tuple[Dowry, ...] = ()
    no_worse_off: tuple[str, ...] = Field(
        default=(), description="Organisations that never spend more than their baseline."
    )
    targets: dict[str, Savings] = Field(
        default_factory=dict, description="Per-organisation savings targets, as `savings`."
    )

    @model_validator(mode="before")
    @classmethod
    def _ids_for_names(cls, data: Any) -> Any:
        """References typed as a name or in another case become the id."""
        if not isinstance(data, dict) or not isinstance(data.get("ids"), list | tuple):
            return data
        ids = [str(i) for i in data["ids"]]
        given = data.get("names")
        names: dict[Any, Any] = given if isinstance(given, dict) else {}
        labels = {i: str(names.get(i, i)) for i in ids}

        def one(value: Any) -> Any:
            if not isinstance(value, str):
                return value
            return match_choice(value, labels) or value

        out = dict(data)
        twice: list[tuple[KeyPath, str]] = []
        for key in ("placements", "budgets"):
            if isinstance(out.get(key), dict):
                out[key] = {k: one(v) for k, v in out[key].items()}
                twice += _named_twice(key, list(out[key]))
        if twice:  # the later one was quietly used
            raise ModelProblem(twice)
        if "contracts" in out:
            out["contracts"] = one(out["contracts"])
        if isinstance(out.get("dowries"), str):  # a workbook cell: empty, or a JSON list
            text = out["dowries"].strip()
            out["dowries"] = json.loads(text) if text.startswith("[") else [] if not text else text
        if isinstance(out.get("no_worse_off"), str):  # one cell: "council; icb"
            out["no_worse_off"] = [v for v in re.split(r"[;,]", out["no_worse_off"]) if v.strip()]
        if isinstance(out.get("no_worse_off"), list | tuple):
            out["no_worse_off"] = [
                one(v.strip() if isinstance(v, str) else v) for v in out["no_worse_off"]
            ]
        if isinstance(out.get("targets"), dict):
            out["targets"] = {one(k): v for k, v in out["targets"].items()}
        if isinstance(out.get("dowries"), list | tuple):
            out["dowries"] = [
                {k: one(v) if k in ("from", "payer", "to") else v for k, v in d.items()}
                if isinstance(d, dict)
                else d
                for d in out["dowries"]
            ]
        return _in_order(out, ids)

    @model_validator(mode="after")
    def _known(self) -> Organisations:
        problems: list[tuple[KeyPath, str]] = []
        known = set(self.ids)
        if not self.ids:
            problems.append((("ids",), "name at least one organisation"))
        seen: set[str] = set()
        for n, i in enumerate(self.ids):
            if not i.strip():
                problems.append((("ids", n), "an organisation id cannot be empty"))
            elif choice_key(i) in seen:
                problems.append((("ids", n), f"{quote(i)} is listed twice"))
            seen.add(choice_key(i))

        def check(path: KeyPath, value: str | None) -> None:
            if value is not None and value not in known:
                problems.append(
                    (path, f"{quote(value)} is not an organisation; ids: {', '.join(self.ids)}")
                )

        for k in self.names:
            check(("names", k), k)
        for setting, payer in self.placements.items():
            check(("placements", setting), payer)
        check(("contracts",), self.contracts)
        for stream, payer in self.budgets.items():
            check(("budgets", stream), payer)
        for n, d in enumerate(self.dowries):
            check(("dowries", n, "from"), d.payer)
            check(("dowries", n, "to"), d.to)
            if d.payer == d.to:
                problems.append((("dowries", n, "to"), "a dowry must go to another organisation"))
            if not Decimal(0) < d.share <= 1:
                problems.append((("dowries", n, "share"), "must be above 0% and at most 100%"))
        for n, o in enumerate(self.no_worse_off):
            check(("no_worse_off", n), o)
            if o in self.no_worse_off[:n]:
                problems.append((("no_worse_off", n), f"{quote(o)} is listed twice"))
        for o in self.targets:
            check(("targets", o), o)
        if problems:
            raise ModelProblem(problems)
        return self

    def name(self, org: str) -> str:
        """How people read an organisation: its name, else its id."""
        return self.names.get(org, org)

    def stream_payer(self, stream: str) -> str | None:
        """The payer of a funding stream: by id or label, else the unassigned payer."""
        hit = match_choice(stream, {k: k for k in self.budgets})
        if hit is not None:
            return self.budgets[hit]
        return self.budgets.get(UNASSIGNED)

    def labels(self) -> Mapping[str, str]:
        """Each id and its name, for matching what people type (``Funder`` cells)."""
        return {i: self.name(i) for i in self.ids}
