"""Read every run folder below a runs root into one pandas DataFrame (one row a run).

The root may hold one profile (runs/quick/<data>/<model>/seed=<n>/) or several
(runs/<profile>/...): run folders are found at any depth and grouped by the
schedule name in their own config.yaml, never by their path, so both layouts
give the same table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from stn.errors import UserError
from stn.train import run_folder

RUN_COLUMNS = [
    "profile",
    "data",
    "model",
    "seed",
    "state",  # complete | running | stopped | failed | unknown (no status.json)
    "test_error",  # % on the full test set, from final.json (NaN unless complete)
    "test_samples",
    "iterations",  # of the schedule in config.yaml
    "precision",  # fp32 | bf16, as trained (runs made before schedule.precision: fp32)
    "budget",  # model.budget: the CNN baseline's first-conv channels fixing every width
    "last_iteration",  # reached so far (status.json), or the final one
    "wall_time_s",
    "packed_runs",  # seeds trained in one pack with it (trainer.n_seeds): wall_time_s is the pack's
    "device",
    "hardware",
    "git_commit",
    "reason",
    "path",
]
# Runs recorded before model.budget existed were all trained at this budget.
LEGACY_BUDGET = 32


def find_run_folders(runs_root: str | Path) -> list[Path]:
    root = Path(runs_root)
    return sorted(p.parent for p in root.glob(f"**/seed=*/{run_folder.CONFIG_FILE}"))


def _read_config(folder: Path) -> dict:
    path = folder / run_folder.CONFIG_FILE
    try:
        config = yaml.safe_load(path.read_text())
        return {
            "profile": str(config["schedule"]["name"]),
            "data": str(config["data"]["name"]),
            "model": str(config["model"]["name"]),
            "budget": int(config["model"].get("budget", LEGACY_BUDGET)),
            "seed": int(config["seed"]),
            "iterations": int(config["schedule"]["iterations"]),
            "precision": str(config["schedule"].get("precision", "fp32")),
            "schedule": dict(config["schedule"]),
            "data_config": dict(config["data"]),
        }
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise UserError(
            f"{path} is not a resolved run config ({exc!r}); remove the folder"
        ) from exc


def read_run(folder: Path) -> dict | None:
    """One run folder as a flat record (config, status and final metrics); None for a
    validation run (data.validation > 0): it chooses readings and schedules, has no test
    error and never enters Table 1 (scripts/readings.py reports it)."""
    record = _read_config(folder)
    if record["data_config"].get("validation"):
        return None
    status = run_folder.read_status(folder) or {}
    final = run_folder.read_final(folder)
    record.update(
        path=folder,
        state="complete" if final is not None else status.get("status", "unknown"),
        reason=status.get("reason"),
        last_iteration=status.get("iteration"),
    )
    if final is not None:
        record.update(
            test_error=float(final["test_error"]),
            test_samples=final.get("test_samples"),
            last_iteration=final.get("iterations", record["iterations"]),
            wall_time_s=final.get("wall_time_s"),
            packed_runs=final.get("packed_runs", 1),
            device=final.get("device"),
            hardware=final.get("hardware"),
            git_commit=final.get("git_commit"),
        )
    return record


def collect_runs(runs_root: str | Path) -> pd.DataFrame:
    """Every run below runs_root; the config dicts stay in the hidden columns
    ``schedule`` and ``data_config`` (used for the protocol check and figures)."""
    records = [r for r in map(read_run, find_run_folders(runs_root)) if r is not None]
    frame = pd.DataFrame(records, columns=[*RUN_COLUMNS, "schedule", "data_config"])
    key = ["profile", "data", "model", "seed"]
    duplicated = frame[frame.duplicated(key, keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        paths = ", ".join(str(p) for p in duplicated["path"][:2])
        raise UserError(
            f"two run folders for profile={first.profile} data={first.data} "
            f"model={first.model} seed={first.seed} ({paths}); "
            "point report.runs_root at one of them"
        )
    return frame.sort_values(key, ignore_index=True)
