"""Plans under uncertainty and sweeps on Dask (SPEC §17)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from python_calamine import CalamineWorkbook

from ras.cluster import local_workers
from ras.commands.optimise import load_inputs, run_optimise
from ras.commands.simulate import SolveTask, _met, run_simulate, solve_task
from ras.io.scenario_file import load_scenario
from ras.models.plan import SolveOptions
from ras.models.risk import MARGIN_STEP
from ras.money import pence
from ras.parallel import default_jobs
from ras.simulation.draws import extra_spend
from tests.conftest import ROOT
from tests.planning import placement, write_case

D = Decimal
EXAMPLE = ROOT / "scenarios" / "example.yaml"


def _example(tmp_path: Path, uncertainty: dict[str, Any]) -> Path:
    import shutil

    shutil.copytree(EXAMPLE.parent / "example", tmp_path / "example")
    text = EXAMPLE.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^uncertainty:.*?(?=^variants:)", "", text)  # the example's own
    block = json.dumps({"uncertainty": uncertainty})[1:-1]  # a YAML flow mapping line
    (tmp_path / "example.yaml").write_text(
        text.replace("variants:", block + "\nvariants:"), encoding="utf-8"
    )
    return tmp_path / "example.yaml"


def test_zero_variance_is_the_deterministic_plan_to_the_penny(tmp_path: Path) -> None:
    scenario = _example(tmp_path, {"samples": 50, "robust": {"probability": "90%"}})
    outcome = run_simulate(scenario, tmp_path / "risk.xlsx", jobs=0)
    plan = run_optimise(scenario, None).plan
    assert outcome.optimised_share == 1.0
    assert outcome.margin == 0  # the plan itself meets every year in every draw
    for y, row in zip(outcome.years, plan.years, strict=False):
        assert y.plan == "optimised" and y.share_met == 1.0
        assert y.spend == (pence(row.spend),) * 3
        assert y.savings == (pence(row.savings),) * 3
    assert outcome.optimised.total_savings == plan.total_savings
    book = CalamineWorkbook.from_path(str(tmp_path / "risk.xlsx"))
    summary = dict(
        (r[0], r[1]) for r in book.get_sheet_by_name("Summary").to_python() if len(r) > 1
    )
    assert str(summary["Robust margin"]).startswith("0 %")
    years = book.get_sheet_by_name("Years").to_python()
    head = years[0]
    assert head[:4] == ["Year", "Financial year", "Plan", "Share meeting target"]
    first = dict(zip(head, years[1], strict=False))
    assert D(str(first["Spend P50 (£)"])) == pence(plan.years[0].spend)


def _two_people(tmp_path: Path, unc: dict[str, Any], slack: float) -> Path:
    """A and B (out of area, £52,000 a year each, budgets £26,000) both move in year 1.

    Readmission for 26 weeks adds half a placement (£26,000) in a year; the absolute
    target leaves ``slack`` pounds above the planned spend.
    """
    planned = 2 * 26000
    return write_case(
        tmp_path,
        budgets={"A": 26000, "B": 26000},
        placements=[placement("A", "out_of_area", 52000), placement("B", "out_of_area", 52000)],
        savings={"kind": "absolute", "amounts": [104000 - planned - slack]},
        uncertainty=unc,
    )


def test_two_people_readmission_closed_form(tmp_path: Path) -> None:
    # One readmission (£26,000) fits in £30,000 of slack; two do not. Each person is
    # readmitted with probability 0.3 in the year: P(met) = 1 - 0.3^2 = 0.91.
    unc = {"readmission": {"probability_per_year": "30%", "weeks": 26}, "samples": 20000}
    outcome = run_simulate(_two_people(tmp_path, unc, 30000), None, jobs=0, seed=7)
    n = 20000
    want = 1 - 0.3**2
    assert abs(outcome.optimised_share - want) <= 4 * math.sqrt(want * (1 - want) / n)
    assert outcome.years[0].share_met == outcome.optimised_share


def test_one_person_lognormal_budget_closed_form(tmp_path: Path) -> None:
    # A's budget times exp(sZ - s^2/2): met when B x M <= B + slack, i.e. with
    # probability Phi((ln(1 + slack / B) + s^2 / 2) / s).
    s, budget, slack = 0.2, 26000, 5000
    scenario = write_case(
        tmp_path,
        budgets={"A": budget},
        placements=[placement("A", "out_of_area", 52000)],
        savings={"kind": "absolute", "amounts": [52000 - budget - slack]},
        uncertainty={"budgets": {"sd": s}, "samples": 20000},
    )
    outcome = run_simulate(scenario, None, jobs=0)
    x = (math.log(1 + slack / budget) + s * s / 2) / s
    want = 0.5 * (1 + math.erf(x / math.sqrt(2)))
    assert abs(outcome.optimised_share - want) <= 4 * math.sqrt(want * (1 - want) / 20000)


def test_breakdowns_compound_from_their_year(tmp_path: Path) -> None:
    """Every year breaks down (probability 1): the budget is x1.5 in year 1, x2.25 in
    year 2 — exactly, in every draw."""
    scenario = write_case(
        tmp_path,
        budgets={"A": 20000},
        placements=[placement("A", "out_of_area", 60000)],
        horizon=2,
        savings={"kind": "absolute", "amounts": [0, 0]},
        uncertainty={"breakdown": {"probability_per_year": 1, "cost_multiplier": 1.5}},
    )
    loaded = load_scenario(scenario)
    data, _ = load_inputs(loaded)
    solved = solve_task(SolveTask(data, D(0), SolveOptions(), loaded.scenario.uncertainty))
    assert solved.arrays is not None and solved.result is not None
    extra = extra_spend(solved.arrays, loaded.scenario.uncertainty, 0, 3)
    assert np.allclose(extra, [[10000, 25000]] * 3)


def test_a_scheduler_address_dask_cannot_read_is_named_with_the_form_to_write(
    tmp_path: Path,
) -> None:
    """`--scheduler localhost` said "cannot reach ... (ValueError)"."""
    from click.testing import CliRunner

    from ras.cli import main

    scenario = _example(tmp_path, {"samples": 10})
    out = tmp_path / "risk.xlsx"
    args = ["simulate", str(scenario), "-o", str(out), "--scheduler", "localhost"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1, r.output
    assert "--scheduler localhost: not a Dask scheduler's address; write it as tcp://" in r.output
    assert not out.exists()


def test_more_jobs_than_cores_start_one_worker_a_core_and_say_so(tmp_path: Path) -> None:
    """On two cores, `-j 8` made a 3 s simulation take 16 s, and `-j 64` did not start
    in two minutes: every worker process imports the solver before the first task."""
    from click.testing import CliRunner

    from ras.cli import main

    assert local_workers(None) == default_jobs() == local_workers(10_000)
    assert local_workers(1) == 1
    scenario = _example(tmp_path, {"samples": 10})
    start = time.perf_counter()
    r = CliRunner().invoke(
        main, ["simulate", str(scenario), "-o", str(tmp_path / "r.xlsx"), "-j", "64"]
    )
    assert r.exit_code == 0, r.output
    assert time.perf_counter() - start < 60
    n = default_jobs()
    assert f"warning: --jobs 64: this machine gives ras {n} core" in r.output
    assert f"on a local cluster ({n} worker" in r.output


def test_the_same_seed_gives_the_same_numbers_on_one_and_two_workers(tmp_path: Path) -> None:
    unc = {
        "budgets": {"sd": 0.15},
        "readmission": {"probability_per_year": "5%", "weeks": 26},
        "breakdown": {"probability_per_year": "2%", "cost_multiplier": 1.25},
        "samples": 1500,
        "seed": 20261125,
    }
    scenario = _example(tmp_path, unc)
    one = run_simulate(scenario, None, jobs=1)
    two = run_simulate(scenario, None, jobs=2)
    here = run_simulate(scenario, None, jobs=0)
    assert one.workers == 1 and two.workers == min(2, default_jobs())
    assert one.years == two.years == here.years
    assert one.optimised_share == two.optimised_share == here.optimised_share
    other = run_simulate(scenario, None, jobs=0, seed=1)
    assert other.years != here.years


def _robust_case(tmp_path: Path, probability: str) -> Path:
    """A's move saves £40,000; B's, C's and D's each cost £2,000 more than they save.
    The target (£30,000) leaves room for all four as planned, but budgets may cost
    more: planned dearer, fewer of the costly moves fit, and the room grows."""
    return write_case(
        tmp_path,
        budgets={"A": 30000, "B": 42000, "C": 42000, "D": 42000},
        placements=[
            placement("A", "out_of_area", 70000),
            placement("B", "out_of_area", 40000),
            placement("C", "out_of_area", 40000),
            placement("D", "out_of_area", 40000),
        ],
        savings={"kind": "absolute", "amounts": [30000]},
        uncertainty={
            "budgets": {"sd": 0.1},
            "samples": 4000,
            "robust": {"probability": probability},
        },
    )


def test_the_robust_margin_is_the_smallest_that_meets_the_share(tmp_path: Path) -> None:
    scenario = _robust_case(tmp_path, "90%")
    outcome = run_simulate(scenario, tmp_path / "risk.xlsx", jobs=0)
    assert outcome.optimised_share < 0.9
    assert outcome.margin is not None and outcome.margin > 0
    assert outcome.robust is not None and outcome.robust_share is not None
    assert outcome.robust_share >= 0.9
    assert len(outcome.robust.moves) < len(outcome.optimised.moves)
    # Independently: the plan at the margin passes, the plan one step below does not.
    loaded = load_scenario(scenario)
    data, _ = load_inputs(loaded)
    unc = loaded.scenario.uncertainty

    def share(margin: Decimal) -> float:
        solved = solve_task(SolveTask(data, margin, SolveOptions(), unc))
        assert solved.result is not None and solved.arrays is not None
        extra = extra_spend(solved.arrays, unc, 0, unc.samples)
        return float(_met(solved.result, extra, data).all(axis=1).mean())

    assert share(outcome.margin) >= 0.9
    assert share(outcome.margin - MARGIN_STEP) < 0.9
    plans = CalamineWorkbook.from_path(str(tmp_path / "risk.xlsx")).get_sheet_by_name("Plans")
    rows = plans.to_python()
    assert rows[0][:3] == ["Person ID", "Optimised: year", "Robust: year"]
    assert {r[0] for r in rows[1:] if r[0] in "ABCD" and r[0]} == {"A", "B", "C", "D"} & set(
        outcome.optimised.moves
    )


def test_no_margin_is_reported_plainly(tmp_path: Path) -> None:
    outcome = run_simulate(_robust_case(tmp_path, "100%"), None, jobs=0)
    assert outcome.margin is None and outcome.robust is None
    assert outcome.tried  # every margin it tried is listed


def test_the_robust_search_stops_at_the_commands_time_limit_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of the search's solves had the whole --time-limit: ten margins tried could
    take ten times it. The limit is the command's (SPEC §16); a search it stops says so,
    and is not reported as "no margin up to 100 % meets" it."""
    import time as real

    import ras.commands.simulate as simulate
    from ras.io.risk_writer import summary_rows
    from ras.models.plan import SolveOptions
    from tests.helpers import TenSecondClock

    monkeypatch.setattr(simulate, "time", TenSecondClock)
    scenario = _robust_case(tmp_path, "90%")
    outcome = simulate.run_simulate(
        scenario, None, jobs=0, options=SolveOptions(time_limit=35)
    )  # the optimised plan and two margins' plans fit in 35 s; the third does not
    assert outcome.robust_stopped
    assert len(outcome.tried) == 3  # margin 0 (the optimised plan) and the two
    said = dict(summary_rows(outcome))
    robust = said["Robust margin"]
    if outcome.margin is None:
        assert robust.startswith("not found: the search stopped at the time limit")
    else:
        assert robust.endswith("and a smaller margin may do")
    monkeypatch.setattr(simulate, "time", real)
    whole = simulate.run_simulate(scenario, None, jobs=0, options=SolveOptions(time_limit=600))
    assert not whole.robust_stopped and len(whole.tried) > 3


def test_simulate_exits_4_when_a_solve_stopped_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A robust search stopped at the time limit exited 0, as if it were done: exit 4
    is how every other command says a solve stopped short (SPEC §2)."""
    from click.testing import CliRunner

    import ras.commands.simulate as simulate
    from ras.cli import main
    from tests.helpers import TenSecondClock

    scenario = _robust_case(tmp_path, "90%")
    args = ["simulate", str(scenario), "-o", str(tmp_path / "r.xlsx"), "-j", "0"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    monkeypatch.setattr(simulate, "time", TenSecondClock)
    stopped = CliRunner().invoke(main, [*args, "--time-limit", "35"])
    assert stopped.exit_code == 4, stopped.output
    assert "the search stopped at the time limit" in stopped.output
    assert (tmp_path / "r.xlsx").exists()


# ------------------------------------------------------------------- Dask for real


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(dask_processes: tuple[str, subprocess.Popen[bytes]]) -> str:
    """The address of a `dask scheduler` with a `dask worker`, processes on 127.0.0.1."""
    return dask_processes[0]


@pytest.fixture
def dask_processes(tmp_path: Path) -> Any:
    """A `dask scheduler` and a `dask worker` started as processes on 127.0.0.1: the
    scheduler's address and its process."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen(
        [
            str(bin_dir / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            str(bin_dir / "dask"),
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--local-directory",
            str(tmp_path / "dask"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    if len(client.scheduler_info()["workers"]) >= 2:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the dask scheduler and worker did not start")
            time.sleep(0.5)
        yield address, scheduler
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
def test_a_real_scheduler_is_greeted_from_a_running_event_loop(dask_cluster: str) -> None:
    """The check that a scheduler answers runs its own event loop: from a caller that
    runs one already (a Jupyter notebook), `asyncio.run` there would refuse."""
    import asyncio

    from ras.cluster import sweep_client

    async def notebook() -> int:
        with sweep_client(dask_cluster) as client:
            return len(client.scheduler_info()["workers"])

    assert asyncio.run(notebook()) == 2


@pytest.mark.slow
def test_a_scheduler_that_stops_mid_run_is_one_line_and_nothing_written(
    tmp_path: Path, dask_processes: tuple[str, subprocess.Popen[bytes]]
) -> None:
    """The scheduler stopped (or the network to it failed) while draws were out: Dask's
    client logged the loss with a 30-line traceback, then each block was "could not be
    evaluated (FutureCancelledError ...)" over two lines, exit 4."""
    address, scheduler = dask_processes
    scenario = _example(tmp_path, {"samples": 1_000_000})
    out = tmp_path / "risk.xlsx"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["simulate", str(scenario), "--out", str(out), "--scheduler", address]
    run = subprocess.Popen(
        [sys.executable, "-m", "ras", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(4)  # the draws are under way (a million take well over a minute)
    assert run.poll() is None
    os.killpg(scheduler.pid, signal.SIGKILL)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: lost the connection to the Dask scheduler at {address}: it stopped, or the "
        "network to it failed; run again when it is back"
    ], stderr
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.slow
def test_simulate_and_compare_on_a_real_scheduler_and_worker(
    tmp_path: Path, dask_cluster: str
) -> None:
    unc = {
        "budgets": {"sd": 0.15},
        "readmission": {"probability_per_year": "5%", "weeks": 26},
        "samples": 1200,
        "seed": 3,
    }
    scenario = _example(tmp_path, unc)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "risk.xlsx"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ras",
            "simulate",
            str(scenario),
            "--out",
            str(out),
            "--scheduler",
            dask_cluster,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    remote = json.loads(done.stdout)
    local = run_simulate(scenario, None, jobs=0)
    assert remote["optimised"]["share_meeting_every_year"] == local.optimised_share
    assert [y["spend"] for y in remote["years"]] == [[str(v) for v in y.spend] for y in local.years]
    assert out.is_file()
    compared = subprocess.run(
        [
            sys.executable,
            "-m",
            "ras",
            "compare",
            str(scenario),
            "--out",
            str(tmp_path / "c.xlsx"),
            "--scheduler",
            dask_cluster,
            "--variant",
            "stretch",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert compared.returncode == 0, compared.stderr
    assert "stretch: OPTIMAL" in compared.stdout + compared.stderr


def test_an_unreachable_scheduler_is_one_line_at_once_and_nothing_written(tmp_path: Path) -> None:
    """Nothing listens at the address: it was said after Dask's 11 s of retries."""
    scenario = _example(tmp_path, {"samples": 10})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "risk.xlsx"
    began = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ras",
            "simulate",
            str(scenario),
            "--out",
            str(out),
            "--scheduler",
            f"tcp://127.0.0.1:{_free_port()}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    took = time.monotonic() - began
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0], done.stderr
    assert "the connection was refused" in lines[0]
    assert took < 8, took  # start-up and the refusal; Dask's retries took 11 s more
    assert not out.exists()


@contextlib.contextmanager
def _listening(reply: bytes | None) -> Any:
    """A server on a free port of 127.0.0.1 that is not Dask's: it sends ``reply`` to each
    connection and closes it, or (None) says nothing and keeps it open."""
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            if reply is None:
                held.append(conn)
            else:
                with conn:
                    conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize(
    "reply",
    [None, b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\xff" * 64],
    ids=["silent", "web-server"],
)
def test_a_server_that_is_not_a_scheduler_is_one_line_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, reply: bytes | None
) -> None:
    """`--scheduler` at the dashboard's port, or any server that is not Dask's: ras waited
    for ever for the greeting (Dask's handshake has no time limit), or, where a reply
    came, stopped with "internal error (MemoryError: Unable to allocate 3.07 EiB ...)"."""
    from ras import cluster
    from ras.errors import InputError

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    with _listening(reply) as address:
        began = time.monotonic()
        with pytest.raises(InputError) as caught, cluster.sweep_client(address):
            pass
    assert time.monotonic() - began < 5
    message = str(caught.value)
    assert message.startswith(f"something answers at {address}, but not as a Dask scheduler")
    assert "8786" in message and "\n" not in message


def test_a_worker_with_another_version_of_ras_stops_the_sweep_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tasks are ras's functions, looked up by name on each worker: one with another
    version of ras installed ran its own arithmetic, mixed unsaid with the others'."""
    from ras import cluster
    from ras.errors import InputError
    from ras.version import __version__
    from tests.crashy import square_or_crash

    monkeypatch.setattr(cluster, "RAS_VERSION", "0.0.1")  # this side; workers run the real one
    with cluster.sweep_client(workers=1) as client:
        with pytest.raises(InputError) as caught:
            cluster.run_tasks(client, square_or_crash, [1, 2], lambda item, exc: -1)
        monkeypatch.setattr(cluster, "RAS_VERSION", __version__)
        assert cluster.run_tasks(client, square_or_crash, [1, 2], lambda item, exc: -1) == [1, 4]
    assert str(caught.value) == (
        f"a worker runs ras {__version__}, and this is ras 0.0.1: install ras 0.0.1 on every "
        "worker (the same version), or run without --scheduler"
    )


def test_a_task_whose_worker_dies_is_retried_then_reported_and_the_rest_go_on() -> None:
    from ras.cluster import run_tasks, sweep_client
    from tests.crashy import square_or_crash

    with sweep_client(workers=2) as client:
        results = run_tasks(
            client,
            square_or_crash,
            [1, 2, 3, 4, 5],
            lambda n, exc: f"lost {n}: {type(exc).__name__}",
        )
    assert results[:2] == [1, 4] and results[3:] == [16, 25]
    assert results[2] == "lost 3: KilledWorker"


def test_ctrl_c_during_simulate_stops_every_process(tmp_path: Path) -> None:
    import signal

    from tests.test_reliability import _finish, _group, _ras

    scenario = _example(tmp_path, {"budgets": {"sd": 0.2}, "samples": 3000000})
    proc = subprocess.Popen(
        _ras("simulate", str(scenario), "-o", "risk.xlsx"),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(4.0)
    if proc.poll() is not None:  # pragma: no cover - finished first
        assert proc.returncode == 0, proc.communicate()[1]
        pytest.skip("simulate finished before Ctrl-C arrived")
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    err = _finish(proc)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 130
    assert err.split() == ["interrupted"], err  # no traceback of Dask's or a worker's
    time.sleep(0.5)
    assert _group(proc.pid) == []
    assert not (tmp_path / "risk.xlsx").exists()


def test_the_margin_search_agrees_with_a_scan_of_every_step() -> None:
    import random

    from ras.simulation.margin import smallest_passing

    rng = random.Random(5)
    for _ in range(2000):
        top = rng.randint(1, 60)
        feasible_to, passes_from = rng.randint(0, top), rng.randint(0, top + 3)
        found, high = smallest_passing(
            lambda k, f=feasible_to, p=passes_from: p <= k <= f,
            lambda k, f=feasible_to: k <= f,
            top,
        )
        assert found == next((k for k in range(top + 1) if passes_from <= k <= feasible_to), None)
        assert high == feasible_to or found == 0


@pytest.mark.slow
def test_a_cluster_without_workers_stops_the_run_with_one_line(tmp_path: Path) -> None:
    """A scheduler no worker ever joins: the run stops (SPEC §16), it does not wait."""
    from distributed import Client

    from ras.cluster import run_tasks
    from ras.errors import InputError

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler = subprocess.Popen(
        [str(Path(sys.executable).parent / "dask"), "scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        client = None
        while client is None:
            try:
                client = Client(address, timeout=5)
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the dask scheduler did not start")
                time.sleep(0.5)
        with client:
            started = time.monotonic()
            with pytest.raises(InputError, match="no workers for 3 s, with 2 tasks waiting"):
                run_tasks(client, abs, [-1, -2], lambda item, exc: 0, no_workers=3)
            assert time.monotonic() - started < 15
    finally:
        scheduler.terminate()
        try:
            scheduler.wait(timeout=20)
        except subprocess.TimeoutExpired:
            scheduler.kill()


def test_a_ctrl_c_lost_in_a_gc_callback_still_stops_the_sweep() -> None:
    """Python runs the Ctrl-C handler wherever the main thread is; inside a garbage
    collector's callback (Dask registers one) the KeyboardInterrupt is dropped as
    "Exception ignored". `ras simulate` then waited two minutes for workers the same
    Ctrl-C had stopped. The wait for tasks raises it again, within the 2 s of §16."""
    import gc
    import signal
    import threading

    from ras.cluster import run_tasks, sweep_client

    sent: list[float] = []

    def lose_it(phase: str, info: dict) -> None:
        main = threading.current_thread() is threading.main_thread()
        if main and phase == "start" and not sent and time.monotonic() > armed:
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)  # handled here, inside the callback
            for _ in range(1000):  # bytecodes for the handler to run on
                pass

    with sweep_client(workers=1) as client:
        armed = time.monotonic() + 1.0
        threshold = gc.get_threshold()
        gc.callbacks.append(lose_it)
        gc.set_threshold(1)  # collections in the main thread while it waits
        try:
            with pytest.raises(KeyboardInterrupt):
                run_tasks(client, time.sleep, [5.0], lambda n, exc: None)
        finally:
            gc.callbacks.remove(lose_it)
            gc.set_threshold(*threshold)
        assert sent, "the Ctrl-C was sent from a collection"
        assert time.monotonic() - sent[0] < 2.0


def test_a_local_cluster_listens_on_this_machine_only_and_beside_another() -> None:
    """The local cluster's scheduler takes free ports of 127.0.0.1, not Dask's 8787.

    With 8787 taken (another cluster, a dashboard), a sweep printed "Port 8787 is
    already in use" on stderr; and nothing of a sweep may listen beyond this machine.
    """
    import socket
    import warnings

    from ras.cluster import sweep_client

    holder = socket.socket()
    with contextlib.suppress(OSError):  # taken already: the case itself
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    try:
        with warnings.catch_warnings(record=True) as caught, sweep_client(workers=1) as client:
            warnings.simplefilter("always")
            addresses = [client.scheduler.address]
            addresses += [
                f"{host}:{port}"
                for host, port in client.run_on_scheduler(
                    lambda dask_scheduler: [
                        s.getsockname()[:2] for s in dask_scheduler.http_server._sockets.values()
                    ]
                )
            ]
    finally:
        holder.close()
    assert not [w for w in caught if "already in use" in str(w.message)]
    assert all(a.removeprefix("tcp://").startswith("127.0.0.1:") for a in addresses), addresses
    assert not any(a.endswith(":8787") for a in addresses), addresses
