"""The clock of a `make reproduce-mnist` sitting (scripts/sweep_clock.py) and its rows in
results/cost.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from _report_helpers import build, write_run

from stn.train import sweep_clock

REPO = Path(__file__).resolve().parents[1]


def clock(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/sweep_clock.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_a_sitting_records_its_wall_time_and_the_runs_it_finished(tmp_path: Path):
    runs = tmp_path / "runs" / "fast"
    write_run(tmp_path / "runs", "fast", "r", "fcn", 0, "complete", 1.0)  # from an earlier one
    assert clock("start", str(runs), "fast", "1", "2", "data=r").returncode == 0
    assert (runs / sweep_clock.STARTED_FILE).exists()
    write_run(tmp_path / "runs", "fast", "r", "cnn", 0, "complete", 1.0)  # trained now
    done = clock("stop", str(runs))
    assert done.returncode == 0 and "complete runs 1 -> 2" in done.stdout
    (sitting,) = sweep_clock.read_sittings(runs / sweep_clock.SITTINGS_FILE)
    assert (sitting["profile"], sitting["seeds"], sitting["jobs"]) == ("fast", 1, 2)
    assert (sitting["complete_at_start"], sitting["complete_at_end"]) == (1, 2)
    assert sitting["args"] == "data=r" and 0 <= sitting["wall_s"] < 120
    assert sitting["started"] <= sitting["finished"] and "CPU cores" in sitting["hardware"]
    assert not (runs / sweep_clock.STARTED_FILE).exists()


def test_a_sitting_that_never_stopped_is_never_listed_and_stop_alone_is_one_error(
        tmp_path: Path):
    runs = tmp_path / "fast"
    result = clock("stop", str(runs))
    assert result.returncode == 2 and result.stderr.startswith("error: no sitting started")
    assert len(result.stderr.strip().splitlines()) == 1
    sweep_clock.start(runs, "fast", 1, 2)  # the sweep then fails: make never calls stop
    assert not (runs / sweep_clock.SITTINGS_FILE).exists()
    bad = clock("start", str(runs), "fast", "one", "2")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_the_report_archives_the_sittings_and_lists_them_in_cost(tmp_path: Path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    write_run(runs, "fast", "r", "fcn", 0, "complete", 1.0, final={"wall_time_s": 600.0})
    sitting = {"profile": "fast", "seeds": 1, "jobs": 2, "args": "", "git_commit": "abc",
               "started": "2026-12-07T02:00:00+00:00", "finished": "2026-12-07T04:42:00+00:00",
               "wall_s": 9720.0, "complete_at_start": 0, "complete_at_end": 40,
               "hardware": "CPU A, 2 CPU cores"}
    (runs / "fast" / sweep_clock.SITTINGS_FILE).write_text(json.dumps(sitting) + "\n")
    (tmp_path / "README.md").write_text("x\n<!-- cost:begin -->\n<!-- cost:end -->\ny\n")
    build(runs, results)
    archived = results / "runs" / "fast" / sweep_clock.SITTINGS_FILE
    assert sweep_clock.read_sittings(archived) == [sitting]
    row = "| fast | 1 | 2 | 2026-12-07T02:00:00+00:00 | 2.70 | 40 | 0 / 40 | CPU A, 2 CPU cores |"
    assert row in (results / "cost.md").read_text()
    assert row in (tmp_path / "README.md").read_text()
    # A rebuild from the committed records keeps them.
    build(results / "runs", results)
    assert sweep_clock.read_sittings(archived) == [sitting]
    assert len(pd.read_csv(results / "runs.csv")) == 1


def test_make_times_the_sitting_from_before_the_data_to_the_end_of_the_sweep():
    plan = subprocess.run(["make", "-n", "reproduce-mnist", "PROFILE=quick"], cwd=REPO,
                          capture_output=True, text=True, timeout=60).stdout.splitlines()

    def line(text: str) -> int:
        return next(i for i, command in enumerate(plan) if text in command)

    assert line("sweep_clock.py start") < line("make_datasets.py") < line("estimate.py")
    assert line("scripts/train.py -m") < line("sweep_clock.py stop") < line("report")
    assert "runs}/quick quick 1 2" in plan[line("sweep_clock.py start")]  # dir profile seeds jobs
