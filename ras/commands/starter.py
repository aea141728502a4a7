"""The starter set (SPEC §15): registers, an empty allocations workbook and a scenario.

``ras template registers DIR`` writes the registers and an allocations workbook with
nobody in it; ``ras template scenario DIR/scenario.xlsx`` then points at them, so
``ras optimise DIR/scenario.xlsx`` runs as written (nobody moves) before any data is in.
"""

from __future__ import annotations

from pathlib import Path

from ras.io.allocations import write_allocations
from ras.io.table_file import fingerprint
from ras.io.templates import example_table, write_register_templates
from ras.models.scored import ScoreRun
from ras.scoring.budgets import Explanations
from ras.scoring.totals import tally
from ras.version import __version__

#: The point table the empty allocations workbook is laid out for (``ras template table``).
STARTER_TABLE = "adult-social-care"


def write_starter_registers(folder: Path, deterministic: bool = False) -> list[Path]:
    """Blank registers and an empty ``allocations.xlsx`` in ``folder``; the paths written.

    An existing ``allocations.xlsx`` (a real one from ``ras score``) is left as it is.
    """
    written = write_register_templates(folder, deterministic=deterministic)
    allocations = folder / "allocations.xlsx"
    if not allocations.exists():
        table = example_table(STARTER_TABLE)
        explainer = Explanations(table)
        run = ScoreRun(table, fingerprint(table), [], [], [], explainer, __version__)
        run.totals = tally([], table, explainer)
        write_allocations(run, allocations)
        written.append(allocations)
    return written
