"""Issue 12: readings runs (validation split) and their table, results/readings.{csv,md}."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
from _train_helpers import REPO, base_overrides, compose_cfg

from stn.report.readings import write_readings
from stn.report.runs import collect_runs
from stn.train import loop


def _train_reading(root, data_dir, model: str, displace: str):
    label = f"displace={displace},sigma_is=std,budget=32"
    overrides = [*base_overrides(root, data_dir), "experiment=readings_p", f"model={model}",
                 f"data.distortion.displace={displace}", "data.distortion.sigma_is=std",
                 "data.validation=100",
                 f"paths.runs_dir='{root / 'readings' / 'p' / label}'"]
    return loop.train(compose_cfg(overrides))


def test_readings_table_archive_and_report_separation(tmp_path, data_dir):
    runs = tmp_path / "runs"
    for model, displace in (("fcn", "source"), ("fcn", "target"), ("st_fcn_aff", "source")):
        (final,) = _train_reading(runs, data_dir, model, displace)
        assert "val_error" in final and "test_error" not in final
    results = tmp_path / "results"
    write_readings(runs / "readings", results, "python scripts/readings.py")
    frame = pd.read_csv(results / "readings.csv")
    assert len(frame) == 3 and set(frame["state"]) == {"complete"}
    source = frame[frame["reading"] == "displace=source, sigma_is=std, budget=32"]
    assert set(source["model"]) == {"fcn", "st_fcn_aff"}
    fcn = source.set_index("model").loc["fcn"]
    assert fcn["paper"] == 3.1 and abs(fcn["delta"] - (fcn["val_error"] - 3.1)) < 1e-3
    assert fcn["command"] == ("python scripts/train.py experiment=readings_p model=fcn "
                              "data.distortion.displace=source data.distortion.sigma_is=std "
                              "model.budget=32")
    for record in frame["record"]:
        assert (results / record / "final.json").exists()
    markdown = (results / "readings.md").read_text()
    assert "| P | displace=target, sigma_is=std, budget=32 |" in markdown
    # smoke schedule: flagged, never presented as the paper protocol
    assert markdown.count("(not paper protocol)") == 3 and "never loaded" in markdown

    # The report's Table 1 never counts a validation run.
    assert collect_runs(runs).empty

    # A new machine (no runs/): the committed records keep their rows.
    shutil.rmtree(runs)
    again = subprocess.run(
        [sys.executable, "scripts/readings.py", f"runs_root={runs}", f"results_dir={results}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert pd.read_csv(results / "readings.csv")[["reading", "model", "val_error"]].equals(
        frame[["reading", "model", "val_error"]]
    )


def test_readings_script_rejects_an_unknown_option(tmp_path):
    result = subprocess.run([sys.executable, "scripts/readings.py", "root=x"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error: unknown option 'root=x'")


def test_the_closest_reading_is_scored_on_models_finished_under_every_reading():
    from stn.report.readings import closest_readings

    rows = [  # (data, reading, model, state, delta)
        ("p", "a", "fcn", "complete", 2.0), ("p", "a", "st_fcn_aff", "complete", 0.1),
        ("p", "b", "fcn", "complete", -1.0),  # no ST run: only FCN is compared
        ("p", "c", "fcn", "running", float("nan")),  # not scored
        ("e", "a", "fcn", "complete", 0.5),  # a single scored reading: no choice
    ]
    frame = pd.DataFrame(rows, columns=["data", "reading", "model", "state", "delta"])
    assert closest_readings(frame) == {"p": "b"}


def test_the_budget_is_chosen_across_the_datasets_scored_under_every_budget():
    from stn.report.readings import budget_scores, closest_budget

    rows = [  # (data, reading, model, state, delta)
        ("r", "budget=32", "fcn", "complete", -0.2),
        ("r", "budget=64", "fcn", "complete", -0.6),
        ("rts", "placement=fit, budget=32", "fcn", "complete", 4.7),
        ("rts", "placement=range, budget=32", "fcn", "complete", 3.7),  # closest at 32
        ("rts", "placement=fit, budget=64", "fcn", "complete", -1.8),
        ("rts", "placement=range, budget=64", "st_fcn_aff", "complete", 0.0),  # FCN only
        ("p", "sigma_is=std, budget=32", "fcn", "complete", 0.0),  # one budget: not counted
        ("tc", "budget=64", "fcn", "running", float("nan")),
    ]
    frame = pd.DataFrame(rows, columns=["data", "reading", "model", "state", "delta"])
    table = budget_scores(frame)
    assert table.loc["rts", 32] == 3.7 and table.loc["rts", 64] == 1.8
    assert "tc" not in table.index and pd.isna(table.loc["p", 64])
    # mean over R and RTS: 32 -> (0.2 + 3.7) / 2, 64 -> (0.6 + 1.8) / 2
    assert closest_budget(frame) == 64
    assert closest_budget(frame[frame["data"] == "r"]) == 32
    assert closest_budget(frame[frame["data"] == "p"]) is None


def test_the_closest_reading_is_taken_under_the_chosen_budget():
    from stn.report.readings import closest_readings

    rows = [  # RTS alone would pick range at 32; the budget (R and RTS) is 64
        ("r", "budget=32", "fcn", "complete", 3.0), ("r", "budget=64", "fcn", "complete", 0.5),
        ("rts", "placement=range, budget=32", "fcn", "complete", 0.1),
        ("rts", "placement=fit, budget=32", "fcn", "complete", 2.0),
        ("rts", "placement=range, budget=64", "fcn", "complete", -2.6),
        ("rts", "placement=fit, budget=64", "fcn", "complete", -1.8),
        ("p", "sigma_is=std, budget=32", "fcn", "complete", 4.0),  # no budget-64 reading
        ("p", "sigma_is=variance, budget=32", "fcn", "complete", -1.3),
    ]
    frame = pd.DataFrame(rows, columns=["data", "reading", "model", "state", "delta"])
    assert closest_readings(frame) == {"r": "budget=64", "rts": "placement=fit, budget=64",
                                       "p": "sigma_is=variance, budget=32"}
