"""The sweep-level progress line (stn/train/sweep_progress.py): one line per job with the
cells complete of the sweep's total, counting cells an earlier sweep finished."""

from __future__ import annotations

from _train_helpers import base_overrides, run_script

from stn.train.sweep_progress import progress_line


def _lines(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("sweep: ")]


def test_a_rerun_counts_the_cells_an_earlier_sweep_finished(tmp_path, data_dir):
    first = _lines(run_script(["-m", *base_overrides(tmp_path, data_dir), "model=fcn,cnn"]))
    assert [line.split(",")[0] for line in first] == [
        "sweep: 0 of 2 cells complete", "sweep: 1 of 2 cells complete"]
    # Two of these three cells are complete: every job of the re-run says so, and the
    # cell it adds is the only one left.
    again = _lines(run_script(["-m", *base_overrides(tmp_path, data_dir),
                               "model=fcn,cnn,st_fcn_aff"]))
    assert [line.split(", ")[0] for line in again] == [
        "sweep: 2 of 3 cells complete (2 before this sweep)"] * 3


def test_the_eta_extrapolates_from_the_cells_this_sweep_finished():
    assert progress_line(0, 4, 0, 10.0) == "sweep: 0 of 4 cells complete, 0:00:10 spent"
    assert progress_line(3, 4, 1, 100.0) == (
        "sweep: 3 of 4 cells complete (1 before this sweep), 0:01:40 spent, ETA 0:00:50")
    assert progress_line(4, 4, 0, 60.0) == "sweep: 4 of 4 cells complete, 0:01:00 spent"


def test_cells_are_found_where_the_trainer_writes_them_with_precision_auto(tmp_path, data_dir):
    """A runs_dir interpolating schedule.precision (experiment=schedules does) names the
    resolved precision, as the trainer writes it, not "auto"."""
    runs = tmp_path / "runs"
    overrides = [*base_overrides(tmp_path, data_dir), "model=fcn", "schedule.precision=auto",
                 "schedule.lr=0.01,0.03",
                 f"paths.runs_dir='{runs}/lr=${{schedule.lr}}-${{schedule.precision}}'"]
    lines = _lines(run_script(["-m", *overrides]))
    assert [line.split(",")[0] for line in lines] == [
        "sweep: 0 of 2 cells complete", "sweep: 1 of 2 cells complete"]
    assert not list(runs.glob("*auto*")) and len(list(runs.glob("lr=*"))) == 2
