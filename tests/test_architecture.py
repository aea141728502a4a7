"""The import rules of ras (issue 10), checked by import-linter from pyproject.toml.

Contracts: the CLI over the runners over the stages over the records; records import
nothing of ras but errors; readers and writers never import the maths or the optimiser;
only the CLI knows click; no module or package imports another that imports it back.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None
    if extra_path is not None:
        import os

        env = dict(os.environ, PYTHONPATH=str(extra_path))
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_ras_keeps_its_import_rules() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout
    for contract in ("Layers", "Records import nothing", "Only the CLI knows click", "cycles"):
        assert contract in r.stdout


def test_the_rules_catch_a_cycle_and_a_layer_broken(tmp_path: Path) -> None:
    """The same kinds of contract on a small package that breaks them: they fail."""
    pkg = tmp_path / "src" / "demo_pkg"
    (pkg / "models").mkdir(parents=True)
    (pkg / "io").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "__init__.py").write_text("")
    (pkg / "io" / "__init__.py").write_text("")
    (pkg / "models" / "record.py").write_text("from demo_pkg.io import writer\n")
    (pkg / "io" / "writer.py").write_text("from demo_pkg.io import reader\n")
    (pkg / "io" / "reader.py").write_text("from demo_pkg.io import writer\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = demo_pkg\n\n"
        "[importlinter:contract:layers]\nname = layers\ntype = layers\n"
        "layers =\n    demo_pkg.io\n    demo_pkg.models\n\n"
        "[importlinter:contract:acyclic]\nname = acyclic\ntype = acyclic_siblings\n"
        "ancestors = demo_pkg\n"
    )
    r = _lint(tmp_path, tmp_path / "src")
    assert r.returncode != 0
    assert "2 broken" in r.stdout, r.stdout


def test_the_scoring_runner_starts_no_thread() -> None:
    """Readers are forked only from a single-threaded process (else the slower forkserver
    starts them): importing what `ras score` needs must not start a thread (numpy's BLAS
    does, and openpyxl imports numpy; budget sheets import it only when they are asked).
    """
    code = (
        "import sys, pathlib; import ras.commands.score, ras.cli; "
        "print(len(list(pathlib.Path('/proc/self/task').iterdir())), 'numpy' in sys.modules)"
    )
    if not Path("/proc/self/task").exists():  # pragma: no cover - not Linux
        return
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "False"], r.stdout


def test_money_is_printed_by_one_formatter() -> None:
    """A format string rounds a decimal half to even and prints ``£-5``: money in ras's
    lines goes through ``ras.money`` (half-up, ``-£5``). Records may not import it
    (their figures are amounts as typed), and a column's width only measures."""
    import re

    allowed = {"ras/money.py", "ras/io/xlsx.py"}
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "ras").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in allowed and "models" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"£\{[^{}]*:[^{}]*f\}", line)
    ]
    assert found == []
