"""The report's wandb run (stn/report/tracker.py): Table 1 of each rebuilt profile, read
back from the offline run's own files, equals results/table1_<profile>.csv; rebuilding
replaces the profile's run instead of adding one; the figures are logged as images."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from _report_helpers import build

from stn.report.tracker import report_run_id


def _number(value):
    try:
        return float("nan") if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _same(logged, expected) -> bool:
    """One cell: numbers equal (NaN = NaN, blank = NaN), text identical."""
    a, b = _number(logged), _number(expected)
    if a is not None and b is not None:
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9)
    return str(logged) == str(expected)


def test_the_report_run_holds_each_profiles_table(synthetic_runs: Path, tmp_path: Path,
                                                  monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    results = tmp_path / "results"
    build(synthetic_runs, results, logger="wandb")
    first = sorted((synthetic_runs / "wandb").glob("offline-run-*"))
    build(synthetic_runs, results, logger="wandb")  # a rebuild replaces each profile's run
    runs = sorted((synthetic_runs / "wandb").glob("offline-run-*"))
    assert len(runs) == 2  # one per rebuilt profile: quick, smoke
    ids = {profile: report_run_id(synthetic_runs, profile) for profile in ("quick", "smoke")}
    for named in (first, runs):
        assert sorted(ids.values()) == sorted(_run_id(run) for run in named)
    for run in runs:
        (table_file,) = (run / "files" / "media" / "table").glob("table1_*.table.json")
        logged = json.loads(table_file.read_text())
        profile = logged["data"][0][logged["columns"].index("profile")]
        csv = pd.read_csv(results / f"table1_{profile}.csv", keep_default_na=False,
                          na_values=[""])
        assert logged["columns"] == list(csv.columns)
        assert len(logged["data"]) == len(csv)
        for row, (_, expected) in zip(logged["data"], csv.iterrows(), strict=True):
            assert all(_same(a, b) for a, b in zip(row, expected.tolist(), strict=True)), row
        (runs_file,) = (run / "files" / "media" / "table").glob("runs_*.table.json")
        rows = json.loads(runs_file.read_text())["data"]
        assert len(rows) == len(list((synthetic_runs / profile).glob("*/*/seed=*")))
        assert _run_id(run) == ids[profile]


def test_the_report_run_holds_the_figures(synthetic_runs: Path, tmp_path: Path, monkeypatch):
    """figures=True: without checkpoints only the curves are drawn (no MNIST needed); each
    PNG of results/figures is an image entry of the headline profile's run."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    results = tmp_path / "results"
    build(synthetic_runs, results, logger="wandb", figures=True)
    pngs = sorted((results / "figures").glob("*.png"))
    assert pngs  # curves_<data>.png of the headline profile
    runs = sorted((synthetic_runs / "wandb").glob("offline-run-*"))
    logged = {run: sorted((run / "files" / "media" / "images" / "figures").glob("*.png"))
              for run in runs}
    [with_images] = [run for run, images in logged.items() if images]  # the headline's
    # wandb names a logged image <key>_<step>_<hash>.png and copies the file as it is
    images = {image.name.rsplit("_", 2)[0]: image for image in logged[with_images]}
    assert set(images) == {png.stem for png in pngs}
    assert all(images[png.stem].read_bytes() == png.read_bytes() for png in pngs)


def _run_id(run: Path) -> str:
    """The run id of wandb's folder name offline-run-<YYYYmmdd_HHMMSS>-<id>."""
    return run.name.split("-", 3)[3]


def test_logger_none_writes_no_report_run(synthetic_runs: Path, tmp_path: Path):
    build(synthetic_runs, tmp_path / "results")
    assert not (synthetic_runs / "wandb").exists()
