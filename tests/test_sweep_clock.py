"""The clock of a `make reproduce-mnist` sitting (scripts/sweep_clock.py) and its rows in
results/cost.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from _report_helpers import build, write_run

from stn.report.cost import sittings_table, whole_sweeps
from stn.train import sweep_clock

REPO = Path(__file__).resolve().parents[1]
# A sweep of two runs: FCN and CNN on R, one seed.
SWEEP = ["experiment=table1", "schedule=smoke", "trainer.n_seeds=1", "data=r",
         "model=fcn,cnn"]


def clock(*args: str, runs: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "STN_RUNS_DIR": str(runs)}
    return subprocess.run([sys.executable, "scripts/sweep_clock.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_sitting_records_its_wall_time_and_the_runs_it_finished(tmp_path: Path):
    runs = tmp_path / "runs"
    assert clock("start", *SWEEP, runs=runs).returncode == 0
    assert (runs / "smoke" / sweep_clock.STARTED_FILE).exists()
    write_run(runs, "smoke", "r", "cnn", 0, "complete", 1.0)  # trained in the sitting
    write_run(runs, "smoke", "r", "fcn", 1, "complete", 1.0)  # another seed: not the sweep's
    done = clock("stop", *SWEEP, runs=runs)
    assert done.returncode == 0 and "runs of the sweep left 2 -> 1 of 2" in done.stdout
    (sitting,) = sweep_clock.read_sittings(runs / "smoke" / sweep_clock.SITTINGS_FILE)
    assert (sitting["profile"], sitting["seeds"], sitting["jobs"]) == ("smoke", 1, 1)
    assert (sitting["sweep_runs"], sitting["left_at_start"], sitting["left_at_end"]) == (2, 2, 1)
    assert sitting["overrides"] == " ".join(SWEEP) and 0 <= sitting["wall_s"] < 120
    assert sitting["started"] <= sitting["finished"] and "CPU cores" in sitting["hardware"]
    assert not (runs / "smoke" / sweep_clock.STARTED_FILE).exists()


def test_a_sitting_that_never_stopped_is_never_listed_and_bad_input_is_one_error(
        tmp_path: Path, monkeypatch):
    runs = tmp_path / "runs"
    result = clock("stop", *SWEEP, runs=runs)
    assert result.returncode == 2 and result.stderr.startswith("error: no sitting started")
    assert len(result.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("STN_RUNS_DIR", str(runs))
    sweep_clock.start(SWEEP)  # the sweep then fails: make never calls stop
    assert not (runs / "smoke" / sweep_clock.SITTINGS_FILE).exists()
    for bad in (["start", "model=fcm"], ["begin"]):
        result = clock(*bad, runs=runs)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def _sitting(started: str, hours: float, left: tuple[int, int], runs: int = 40) -> dict:
    return {"profile": "fast", "seeds": 1, "jobs": 2, "overrides": "schedule=fast",
            "git_commit": "abc-dirty", "started": started, "finished": started,
            "wall_s": hours * 3600, "sweep_runs": runs, "left_at_start": left[0],
            "left_at_end": left[1], "hardware": "CPU A, 2 CPU cores"}


def test_the_sittings_of_one_sweep_add_up_and_a_broken_chain_does_not():
    sittings = sittings_table([
        _sitting("2026-12-07T01:00", 2.5, (40, 12)),  # stopped by trainer.max_minutes
        _sitting("2026-12-08T01:00", 0.75, (12, 0)),  # carried on to the end: 3.25 h
        _sitting("2026-12-09T01:00", 1.0, (40, 30)),  # a fresh sweep, killed after this...
        _sitting("2026-12-10T01:00", 1.0, (25, 0)),  # ...a sitting that never stopped between
        _sitting("2026-12-11T01:00", 2.9, (40, 0)),  # one sitting, the whole sweep
    ])
    sweeps = whole_sweeps(sittings)
    assert list(sweeps["hours"]) == [3.25, 2.9] and list(sweeps["sittings"]) == [2, 1]
    assert list(sweeps["started"]) == ["2026-12-07T01:00", "2026-12-11T01:00"]


def test_the_report_archives_the_sittings_and_lists_them_in_cost(tmp_path: Path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    write_run(runs, "fast", "r", "fcn", 0, "complete", 1.0, final={"wall_time_s": 600.0})
    sitting = _sitting("2026-12-07T02:00:00+00:00", 2.7, (40, 0))
    (runs / "fast" / sweep_clock.SITTINGS_FILE).write_text(json.dumps(sitting) + "\n")
    (tmp_path / "README.md").write_text("x\n<!-- cost:begin -->\n<!-- cost:end -->\ny\n")
    build(runs, results)
    archived = results / "runs" / "fast" / sweep_clock.SITTINGS_FILE
    assert sweep_clock.read_sittings(archived) == [sitting]
    row = ("| fast | 1 | 2 | 2026-12-07T02:00:00+00:00 | 2.70 | 40 | 40 / 0, of 40 "
           "| CPU A, 2 CPU cores | `schedule=fast` | abc-dirty |")
    whole = "| fast | 1 | 2 | 40 | 1 | 2.70 | 2026-12-07T02:00:00+00:00 |"
    for text in ((results / "cost.md").read_text(), (tmp_path / "README.md").read_text()):
        assert row in text and whole in text
    # A rebuild from the committed records keeps them.
    build(results / "runs", results)
    assert sweep_clock.read_sittings(archived) == [sitting]
    assert len(pd.read_csv(results / "runs.csv")) == 1


def test_make_times_the_sitting_from_before_the_data_to_the_end_of_the_sweep():
    plan = subprocess.run(["make", "-n", "reproduce-mnist", "PROFILE=quick", "ARGS=data=r"],
                          cwd=REPO, capture_output=True, text=True, timeout=60).stdout
    plan = plan.splitlines()

    def line(text: str) -> int:
        return next(i for i, command in enumerate(plan) if text in command)

    assert line("sweep_clock.py start") < line("make_datasets.py") < line("estimate.py")
    assert line("scripts/train.py -m") < line("sweep_clock.py stop") < line("report")
    sweep = plan[line("scripts/train.py -m")].split("train.py -m", 1)[1].strip()
    assert plan[line("sweep_clock.py start")].endswith(f"start {sweep}")  # the same sweep
    assert plan[line("sweep_clock.py stop")].endswith(f"stop {sweep}")
    assert sweep.endswith("data=r") and "hydra.launcher.n_jobs=2" in sweep
