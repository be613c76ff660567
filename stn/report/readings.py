"""The readings table: every candidate reading of an unstated data detail, scored on
the validation split (results/readings.{csv,md}; scripts/readings.py).

A readings run is a paper-protocol run with data.validation > 0 (configs/experiment/
readings_<data>.yaml): it trains on the first 55k training digits and reports
val_error on the 5k held out from them, so no reading is ever chosen by test error.
The paper gives test errors only; Δ compares our validation error with them, which
is the only yardstick the paper offers (the two splits are distorted the same way).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from stn.report.archived import write_archived_table
from stn.report.paper import data_label, datasets, is_paper_schedule, model_label, paper_error
from stn.train import run_folder

# The config keys each dataset's readings vary (the grids of readings_<data>.yaml).
READING_KEYS = {
    "r": ("model.budget",),
    "rts": ("data.distortion.placement", "model.budget"),
    "p": ("data.distortion.displace", "data.distortion.sigma_is", "model.budget"),
    "e": ("data.distortion.displace", "data.distortion.sigma_is", "model.budget"),
    "tc": ("model.budget",),
}
MODELS = ("fcn", "st_fcn_aff")
COLUMNS = ["data", "reading", "model", "state", "val_error", "val_samples", "paper",
           "delta", "iterations", "wall_time_s", "precision", "command", "record"]


def _lookup(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        value = value[part]
    return value


def read_reading(folder: Path) -> dict | None:
    """One readings run as a row, or None for a folder that is not a readings run."""
    config = yaml.safe_load((folder / run_folder.CONFIG_FILE).read_text())
    data, model = config["data"]["name"], config["model"]["name"]
    if not config["data"].get("validation") or data not in READING_KEYS:
        return None
    values = {key: _lookup(config, key) for key in READING_KEYS[data]}
    reading = ", ".join(f"{key.rsplit('.', 1)[1]}={value}" for key, value in values.items())
    overrides = " ".join(f"{key}={value}" for key, value in values.items())
    final = run_folder.read_final(folder)
    status = run_folder.read_status(folder) or {}
    state = "complete" if final else status.get("status", "unknown")
    paper = paper_error(model, data)[0]
    val = float(final["val_error"]) if final else float("nan")
    return {
        "data": data, "reading": reading, "model": model, "state": state,
        "val_error": val, "val_samples": final.get("val_samples") if final else None,
        "paper": paper, "delta": val - paper,
        "iterations": final["iterations"] if final else status.get("iteration"),
        "wall_time_s": final.get("wall_time_s") if final else None,
        "precision": config["schedule"]["precision"],
        "command": f"python scripts/train.py experiment=readings_{data} model={model} {overrides}",
        "folder": folder,
        # The readings' protocol: the paper's schedule in fp32 on fresh distortions.
        "paper_protocol": config["schedule"]["precision"] == "fp32"
        and bool(config["data"]["redraw_train"])
        and is_paper_schedule(config["schedule"]),
    }


def collect_readings(root: str | Path) -> pd.DataFrame:
    rows = [read_reading(p.parent) for p in sorted(Path(root).glob(f"**/{run_folder.CONFIG_FILE}"))]
    frame = pd.DataFrame([r for r in rows if r is not None])
    if frame.empty:
        return pd.DataFrame(columns=[*COLUMNS, "folder", "paper_protocol"])
    order = {name: i for i, name in enumerate(datasets())}
    frame["_order"] = frame["data"].map(order)
    return frame.sort_values(["_order", "reading", "model"]).drop(columns="_order")


def _archive_path(row) -> Path:
    return Path(row.data, row.reading.replace(", ", ","), row.model)


def closest_readings(frame: pd.DataFrame) -> dict[str, str]:
    """Per dataset, the reading whose validation errors are closest to the paper's.

    The budget is chosen first, across datasets (:func:`closest_budget`); a dataset
    with readings under that budget is scored among those only. Scored are the
    readings whose FCN run finished; the score is the mean |Δ| over the models
    finished under every scored reading (FCN, and ST-FCN Aff where it finished
    everywhere). Fewer than two scored readings: no choice, unless the budget alone
    leaves one."""
    chosen, budget = {}, closest_budget(frame)
    for data, group in frame.groupby("data", sort=False):
        at_budget = group[group["reading"].map(_budget) == budget]
        restricted = budget is not None and not at_budget.empty
        if restricted:
            group = at_budget
        done = group[group["state"] == "complete"]
        finished = {(r, m) for r, m in zip(done["reading"], done["model"], strict=True)}
        readings = [r for r in dict.fromkeys(group["reading"]) if (r, MODELS[0]) in finished]
        models = [m for m in MODELS if all((r, m) in finished for r in readings)]
        if len(readings) < 2 - restricted:  # under the chosen budget, one reading is the choice
            continue
        score = {r: done[(done["reading"] == r) & done["model"].isin(models)]["delta"].abs()
                 .mean() for r in readings}
        chosen[data] = min(readings, key=score.get)
    return chosen


def _budget(reading: str) -> int | None:
    for part in reading.split(", "):
        key, _, value = part.partition("=")
        if key == "budget":
            return int(value)
    return None


def budget_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """The parameter budget is one choice for every dataset, so it is scored across them.

    Per dataset and budget: the smallest FCN |Δ| among that budget's finished readings
    (the dataset's other details at their closest for that budget). Rows: datasets;
    columns: budgets. Only datasets where every budget has a finished FCN run count
    towards :func:`closest_budget`."""
    done = frame[(frame["state"] == "complete") & (frame["model"] == MODELS[0])].copy()
    done["budget"] = done["reading"].map(_budget)
    done["abs_delta"] = done["delta"].abs()
    table = done.pivot_table(index="data", columns="budget", values="abs_delta", aggfunc="min")
    order = [d for d in datasets() if d in table.index]
    return table.loc[order]


def closest_budget(frame: pd.DataFrame) -> int | None:
    """The budget with the smallest mean of :func:`budget_scores` over the datasets
    scored under every budget; None while fewer than two budgets can be compared."""
    table = budget_scores(frame).dropna()
    if table.empty or table.shape[1] < 2:
        return None
    return int(table.mean().idxmin())


def _budget_lines(frame: pd.DataFrame) -> list[str]:
    table = budget_scores(frame)
    if table.shape[1] < 2:
        return []
    budgets = list(table.columns)
    chosen = closest_budget(frame)
    complete = table.dropna()
    lines = [
        "", "## The parameter budget, across datasets", "",
        "Per dataset and budget: the smallest FCN |Δ| among that budget's finished readings "
        "(`stn.report.readings.budget_scores`). The budget is one choice for every dataset: "
        "**chosen** is the one with the smallest mean over the datasets scored under every "
        "budget (`closest_budget`).", "",
        "| data | " + " | ".join(f"budget={b}{' **chosen**' if b == chosen else ''}"
                                for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for data, row in table.iterrows():
        cells = ["not finished" if pd.isna(row[b]) else f"{row[b]:.2f}" for b in budgets]
        lines.append(f"| {data_label(data)} | " + " | ".join(cells) + " |")
    if not complete.empty:
        names = ", ".join(data_label(d) for d in complete.index)
        lines.append(f"| mean over {names} | "
                     + " | ".join(f"{complete[b].mean():.2f}" for b in budgets) + " |")
    return lines


def readings_markdown(frame: pd.DataFrame, command: str) -> str:
    lines = [
        "# Readings of the unstated data details, scored on the validation split",
        "",
        f"Command: `{command}`",
        "",
        "Each row: one reading, trained under the paper protocol (150k iterations, batch 256, "
        "fresh distortions every epoch, seed 0) on the first 55,000 training digits; "
        "% error on the 5,000 training digits held out from them (`data.validation=5000`, "
        "a fixed distorted copy). The test set was never loaded. Paper: its % *test* error; "
        "Δ = ours − paper. Only complete runs have a number; the others show their state.",
        "",
        "**closest**: per dataset, among the readings whose FCN run finished (under the "
        "chosen budget where the dataset has readings under it; the budget is chosen "
        "across datasets, below), the one with the smallest mean |Δ| over the models that "
        "finished under all of them (`stn.report.readings.closest_readings`).",
        "",
        "| data | reading | FCN val | FCN paper | FCN Δ | ST-FCN Aff val | ST-FCN Aff paper "
        "| ST-FCN Aff Δ |",
        "|---|---|---|---|---|---|---|---|",
    ]
    chosen = closest_readings(frame)
    for (data, reading), group in frame.groupby(["data", "reading"], sort=False):
        cells = []
        for model in MODELS:
            row = group[group["model"] == model]
            if row.empty:
                cells += ["not run", f"{paper_error(model, data)[0]:.1f}", ""]
                continue
            row = row.iloc[0]
            value = f"{row.val_error:.2f}" if row.state == "complete" else row.state
            flag = "" if row.paper_protocol else " (not paper protocol)"
            delta = f"{row.delta:+.2f}" if row.state == "complete" else ""
            cells += [value + flag, f"{row.paper:.1f}", delta]
        mark = " **closest**" if chosen.get(data) == reading else ""
        lines.append(f"| {data_label(data)} | {reading}{mark} | " + " | ".join(cells) + " |")
    lines += _budget_lines(frame)
    lines += ["", "Per run (model, state, wall time, the command that trains it): "
              "[readings.csv](readings.csv). Models: "
              + ", ".join(model_label(m) for m in MODELS) + "."]
    return "\n".join(lines) + "\n"


def write_readings(root: str | Path, results: str | Path, command: str) -> list[Path]:
    """Archive the readings runs under ``root`` into results/readings/<data>/<reading>/
    <model>/, then tabulate the whole archive: runs committed earlier keep their rows."""
    return write_archived_table(root, results, "readings", collect=collect_readings,
                                target_of=_archive_path, columns=COLUMNS,
                                markdown=readings_markdown, command=command)
