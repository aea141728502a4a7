"""Regenerate the files ras makes that are committed to the repository.

- ``templates/``: the blank workbooks and the starter scenario (``ras template``).
- ``scenarios/example.yaml`` and ``scenarios/example/``: the registers and allocations of
  the example scenario (the demo's data).
- ``docs/formats.md``: the column tables, made from the sheet schemas in
  ``ras/io/schemas.py``.

Run from the repository after changing what ras writes::

    python tools/regenerate.py                      # both, in place
    python tools/regenerate.py --into /tmp/fresh    # into another folder (tests do this)

``tests/test_templates.py`` and ``tests/test_docs.py`` fail while a committed copy is
stale.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from ras.commands.demo import write_assessments, write_example
from ras.commands.score import run_score
from ras.io.schemas import with_columns
from ras.io.templates import example_table, template_files

ROOT = Path(__file__).resolve().parent.parent


def templates(folder: Path) -> list[Path]:
    """Write every template into ``folder`` (the repository's ``templates/``)."""
    written = []
    for rel, writer in template_files().items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(path)
        written.append(path)
    return written


def example(scenarios: Path) -> list[Path]:
    """Write ``example.yaml`` and ``example/`` (registers and allocations) into ``scenarios``."""
    folder = scenarios / "example"
    folder.mkdir(parents=True, exist_ok=True)
    table = example_table("adult-social-care")
    out = (folder / "allocations.xlsx").resolve()
    # Scored from a temporary folder, by a relative name: the Source column says
    # "assessments/assessment-ASC-0001.xlsx", not a /tmp path that never existed for a user.
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        write_assessments(table, Path("assessments"), 150)
        run_score([Path("assessments")], table, out, jobs=0, options={"example": True})
    scenario = write_example(scenarios / "example.yaml", folder / "allocations.xlsx", folder)
    return [
        scenario,
        folder / "allocations.xlsx",
        folder / "placements.xlsx",
        folder / "contracts.xlsx",
    ]


def docs(folder: Path) -> list[Path]:
    """Write ``formats.md`` into ``folder`` with its column tables made afresh."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    out = folder / "formats.md"
    out.write_text(with_columns(text), encoding="utf-8")
    return [out]


def main() -> None:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, help="write here instead of the repository")
    args = parser.parse_args()
    base = args.into or ROOT
    written = templates(base / "templates") + example(base / "scenarios") + docs(base / "docs")
    for path in written:
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()
