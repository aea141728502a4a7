"""Options people type: an id (``out_of_area``) or its label (``Out of area``).

Matching ignores case, spacing, and ``_``/``-`` against spaces, so ``Out of area``,
``out-of-area`` and ``OUT_OF_AREA`` are all ``out_of_area``. Outputs show labels;
files keep ids (SPEC §15).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def choice_key(text: object) -> str:
    """The form two spellings of one option share: case-folded, one space between words."""
    return " ".join(str(text).replace("_", " ").replace("-", " ").split()).casefold()


def match_choice(text: object, labels: Mapping[str, str]) -> str | None:
    """The id ``text`` names (by id or label, as :func:`choice_key` matches), or None."""
    key = choice_key(text)
    for ident, label in labels.items():
        if key in (choice_key(ident), choice_key(label)):
            return ident
    return None


def label_list(labels: Mapping[str, str], ids: Iterable[str] | None = None) -> str:
    """``Inpatient, Out of area or Residential``: the choices as a person reads them."""
    names = [labels.get(i, i) for i in (ids if ids is not None else labels)]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


#: Placement settings (SPEC §7) and how people read them.
SETTING_LABELS: dict[str, str] = {
    "inpatient": "Inpatient",
    "out_of_area": "Out of area",
    "residential": "Residential",
}
#: Where a person is today, for the plan's outputs (settings and block contracts).
PLACE_LABELS: dict[str, str] = {**SETTING_LABELS, "block": "Block contract"}
#: Savings target kinds (SPEC §8).
SAVINGS_KIND_LABELS: dict[str, str] = {
    "year_on_year": "Year on year",
    "vs_baseline": "Against the baseline",
    "absolute": "Absolute amounts",
}
#: Plan objectives (SPEC §9).
OBJECTIVE_LABELS: dict[str, str] = {
    "personalise": "Personalise",
    "save": "Save",
}


def label_of(ident: str, labels: Mapping[str, str]) -> str:
    """The label of an id (the id itself when it has none)."""
    return labels.get(ident, ident)
