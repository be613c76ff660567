"""The schedule search of the fast profile: every trial, its validation error and its cost
(results/schedules.{csv,md}; scripts/schedules.py).

A trial is one run of configs/experiment/schedules.yaml: a short schedule (iterations,
shape, peak lr, warm-up, the localisation net's lr scale, precision) trained on the first
55k training digits and scored on the 5k held out from them, so no schedule is chosen by
test error. The schedule is one choice for every cell, so trials are ranked by their mean
validation error over the same cells (data, model): those of the widest trials.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from stn import registry
from stn.report.archived import write_archived_table
from stn.report.paper import data_label, model_label
from stn.train import run_folder

# The schedule keys a trial may vary (the grid of configs/experiment/schedules.yaml and its
# command-line additions); a trial is named by their values.
TRIAL_KEYS = ("iterations", "batch_size", "shape", "lr", "warmup", "loc_lr_scale", "momentum")
COLUMNS = ["data", "model", "trial", *TRIAL_KEYS, "precision", "state", "val_error",
           "val_samples", "wall_time_s", "command", "record"]


def trial_name(schedule: dict) -> str:
    return ", ".join(f"{key}={schedule[key]}" for key in TRIAL_KEYS)


def read_trial(folder: Path) -> dict | None:
    """One trial as a row, or None for a folder that is not a validation run."""
    config = yaml.safe_load((folder / run_folder.CONFIG_FILE).read_text())
    if not config["data"].get("validation"):
        return None
    schedule = config["schedule"]
    final = run_folder.read_final(folder)
    status = run_folder.read_status(folder) or {}
    overrides = " ".join(f"schedule.{key}={schedule[key]}" for key in TRIAL_KEYS)
    return {
        "data": config["data"]["name"], "model": config["model"]["name"],
        "trial": trial_name(schedule), **{key: schedule[key] for key in TRIAL_KEYS},
        "precision": schedule["precision"],  # the resolved one (auto never reaches a run)
        "state": "complete" if final else status.get("status", "unknown"),
        "val_error": float(final["val_error"]) if final else float("nan"),
        "val_samples": final.get("val_samples") if final else None,
        "wall_time_s": final.get("wall_time_s") if final else None,
        "command": f"python scripts/train.py experiment=schedules data={config['data']['name']} "
                   f"model={config['model']['name']} {overrides}",
        "folder": folder,
    }


def collect_trials(root: str | Path) -> pd.DataFrame:
    rows = [read_trial(p.parent) for p in sorted(Path(root).glob(f"**/{run_folder.CONFIG_FILE}"))]
    frame = pd.DataFrame([r for r in rows if r is not None])
    if frame.empty:
        return pd.DataFrame(columns=[*COLUMNS, "folder"])
    return frame.sort_values(["data", "model", "val_error"]).reset_index(drop=True)


def _archive_path(row) -> Path:
    return Path(row.data, row.model, row.trial.replace(", ", ","))


def trial_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows: trials; columns: the cells (data/model) finished by every trial that finished
    the most cells, then their ``mean``, sorted by it (best first). Trials missing one of
    those cells are left out: a mean over other cells would not compare. A baseline's
    trial counts at every loc_lr_scale (it has no localisation net)."""
    done = frame[frame["state"] == "complete"]
    if done.empty:
        return pd.DataFrame()
    done = _baselines_for_every_loc_scale(done)
    done = done.assign(cell=done["data"] + "/" + done["model"])
    table = done.pivot_table(index="trial", columns="cell", values="val_error", aggfunc="mean")
    finished = table.notna().sum(axis=1)
    widest = table[finished == finished.max()]
    table = table[list(widest.columns[widest.notna().all()])].dropna()
    table["mean"] = table.mean(axis=1)
    return table.sort_values("mean")


def _baselines_for_every_loc_scale(done: pd.DataFrame) -> pd.DataFrame:
    """A baseline has no spatial transformer, so schedule.loc_lr_scale changes nothing in
    it: its trial stands for the same schedule at every loc_lr_scale the ST trials use."""
    baseline = done["model"].map(lambda m: registry.model(m).transform is None)
    scales = sorted(set(done.loc[~baseline, "loc_lr_scale"])) or [1.0]
    copies = [done[~baseline]]
    for scale in scales:
        rows = done[baseline].assign(loc_lr_scale=scale)
        copies.append(rows.assign(trial=[trial_name(r) for r in rows.to_dict("records")]))
    return pd.concat(copies, ignore_index=True).drop_duplicates(["data", "model", "trial"])


def schedules_markdown(frame: pd.DataFrame, command: str) -> str:
    lines = [
        "# The schedule search of the fast profile, scored on the validation split",
        "",
        f"Command: `{command}`",
        "",
        "Each trial: the paper's networks, data (fresh distortions every epoch) and SGD, "
        "trained on the first 55,000 training digits with a short schedule "
        "(`configs/experiment/schedules.yaml`, seed 0); % error on the 5,000 training "
        "digits held out from them (`data.validation=5000`). The test set was never "
        "loaded. Wall time: one run on one CPU thread, beside other runs.",
        "",
    ]
    scores = trial_scores(frame)
    if not scores.empty:
        cells = [c for c in scores.columns if c != "mean"]
        lines += [
            "## Trials ranked over the cells they all finished", "",
            "Mean validation error over " + ", ".join(
                f"{data_label(c.split('/')[0])} {model_label(c.split('/')[1])}" for c in cells)
            + " (`stn.report.schedules.trial_scores`); best first.", "",
            "| trial | " + " | ".join(cells) + " | mean |",
            "|---|" + "---|" * (len(cells) + 1),
        ]
        for trial, row in scores.iterrows():
            lines.append(f"| {trial} | " + " | ".join(f"{row[c]:.2f}" for c in cells)
                         + f" | {row['mean']:.2f} |")
        lines.append("")
    lines += ["## Every trial", "",
              "| data | model | trial | precision | state | val error | wall time |",
              "|---|---|---|---|---|---|---|"]
    for row in frame.itertuples():
        value = f"{row.val_error:.2f}" if row.state == "complete" else ""
        wall = f"{row.wall_time_s / 60:.1f} min" if pd.notna(row.wall_time_s) else ""
        lines.append(f"| {data_label(row.data)} | {model_label(row.model)} | {row.trial} | "
                     f"{row.precision} | {row.state} | {value} | {wall} |")
    lines += ["", "Per trial (the command that trains it, its record): "
              "[schedules.csv](schedules.csv)."]
    return "\n".join(lines) + "\n"


def write_schedules(root: str | Path, results: str | Path, command: str) -> list[Path]:
    """Archive the trials under ``root`` into results/schedules/<data>/<model>/<trial>/,
    then tabulate the whole archive: trials committed earlier keep their rows."""
    return write_archived_table(root, results, "schedules", collect=collect_trials,
                                target_of=_archive_path, columns=COLUMNS,
                                markdown=schedules_markdown, command=command)
