"""Table 1 from the runs: our mean +/- std over finished seeds beside the paper.

Rules (also in results/README.md):
- Only complete runs (final.json present) enter the mean; a running, stopped or
  failed run never does, and no cell is ever filled in from elsewhere.
- std is the sample standard deviation over seeds (ddof=1); with n=1 it is
  undefined (NaN in the CSV, no "±" in the markdown).
- diff = our mean - the paper's number, in percentage points.
- A cell's status: complete (every run of the cell finished), partial (some
  finished, others failed or unfinished), failed (none finished, at least one
  failed), unfinished (none finished, none failed), missing (no run at all).
"""

from __future__ import annotations

import math

import pandas as pd

from stn.report import paper

CELL_FIELDS = [
    "mean",
    "std",
    "n",
    "n_failed",
    "n_unfinished",
    "status",
    "paper",
    "paper_source",
    "diff",
    "seeds",
]


def cell_runs(runs: pd.DataFrame, model: str, data: str) -> pd.DataFrame:
    """The runs of one (model, data) cell, in every state."""
    return runs[(runs["model"] == model) & (runs["data"] == data)]


def cell_stats(runs: pd.DataFrame, model: str, data: str) -> dict:
    """Statistics of one (model, data) cell from the runs of one profile."""
    cell = cell_runs(runs, model, data)
    done = cell[cell["state"] == "complete"].sort_values("seed")
    n, n_failed = len(done), int((cell["state"] == "failed").sum())
    n_unfinished = len(cell) - n - n_failed
    errors = done["test_error"].astype(float)
    mean = float(errors.mean()) if n else math.nan
    std = float(errors.std(ddof=1)) if n >= 2 else math.nan
    if n:
        status = "complete" if n == len(cell) else "partial"
    elif n_failed:
        status = "failed"
    else:
        status = "unfinished" if len(cell) else "missing"
    reference, source = paper.paper_error(model, data)
    reference = math.nan if reference is None else reference  # no paper number: NaN, shown "–"
    return {
        "mean": mean,
        "std": std,
        "n": n,
        "n_failed": n_failed,
        "n_unfinished": n_unfinished,
        "status": status,
        "paper": reference,
        "paper_source": source,
        "diff": mean - reference,
        "seeds": " ".join(str(s) for s in done["seed"]),
    }


def table1(runs: pd.DataFrame) -> pd.DataFrame:
    """Wide Table 1 of one profile: one row per model, columns <DATA>_<field>."""
    rows = []
    for model in paper.models():
        row = {"model": model, "label": paper.model_label(model)}
        for data in paper.datasets():
            stats = cell_stats(runs, model, data)
            row.update({f"{paper.data_label(data)}_{k}": stats[k] for k in CELL_FIELDS})
        rows.append(row)
    return pd.DataFrame(rows)


def format_ours(mean: float, std: float, n: int, n_failed: int, n_unfinished: int) -> str:
    """One cell of our results as text: '1.23 ± 0.05 (n=3)', 'failed (2)', 'missing'."""
    extra = []
    if n_failed:
        extra.append(f"{n_failed} failed")
    if n_unfinished:
        extra.append(f"{n_unfinished} unfinished")
    if n == 0:
        if n_failed:
            return f"failed ({n_failed})"
        return "missing" + (f" ({', '.join(extra)})" if extra else "")
    text = f"{mean:.2f}" if n == 1 else f"{mean:.2f} ± {std:.2f}"
    return f"{text} (n={'; '.join([str(n), *extra])})"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The wide table as strings: per dataset 'ours', 'paper' and 'Δ' columns."""
    out = pd.DataFrame({"model": table["label"]})
    for data in paper.datasets():
        d = paper.data_label(data)
        out[d] = [
            format_ours(
                r[f"{d}_mean"],
                r[f"{d}_std"],
                r[f"{d}_n"],
                r[f"{d}_n_failed"],
                r[f"{d}_n_unfinished"],
            )
            for _, r in table.iterrows()
        ]
        mark = table[f"{d}_paper_source"].map(
            lambda s: "†" if s == paper.SOURCE_TC_BACKBONE else ""
        )
        out[f"{d} paper"] = table[f"{d}_paper"].map(
            lambda v: paper.NO_NUMBER if math.isnan(v) else f"{v:.1f}") + mark
        out[f"{d} Δ"] = table[f"{d}_diff"].map(lambda v: "" if math.isnan(v) else f"{v:+.2f}")
    return out


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub markdown table (pandas' to_markdown needs tabulate, not a dependency)."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def _unique(values: pd.Series) -> list[str]:
    return sorted({str(v) for v in values.dropna()})


def describe_profile(runs: pd.DataFrame) -> dict:
    """What the runs of one profile were trained with, for the line above the table.

    The paper protocol needs the paper's schedule, all training digits
    (no schedule.train_subset, no data.limit), fp32 (the paper's precision),
    fresh training distortions every epoch (data.redraw_train; what the paper's
    numbers need, results/README.md) and every final number measured on the
    full 10,000 test digits. ``deviations`` names whatever breaks it."""
    done = runs[runs["state"] == "complete"]
    test_samples = sorted({int(n) for n in done["test_samples"].dropna()})
    checks = {
        "not the paper's schedule": all(paper.is_paper_schedule(s) for s in runs["schedule"]),
        "a subset of the training digits": all(
            s.get("train_subset") is None for s in runs["schedule"]
        ) and all(d.get("limit") is None for d in runs["data_config"]),
        "not fp32": all(p == "fp32" for p in runs["precision"]),
        "one fixed distorted training copy (ablation)": all(
            d.get("redraw_train", False) for d in runs["data_config"]
        ),
        "not the full test set": set(test_samples) <= {paper.TEST_DIGITS},
    }
    deviations = [name for name, ok in checks.items() if not ok]
    return {
        "profile": str(runs["profile"].iloc[0]),
        "paper_protocol": not deviations,
        "deviations": deviations,
        "iterations": sorted({int(i) for i in runs["iterations"]}),
        "precisions": _unique(runs["precision"]),
        "test_samples": test_samples,
        "devices": _unique(done["device"]),
        "hardware": _unique(done["hardware"]),
        "git_commits": _unique(done["git_commit"]),
        "counts": runs["state"].value_counts().to_dict(),
    }


def profile_headline(info: dict) -> str:
    """One bold line that says whether this is the paper protocol, never implying it is."""
    iterations = " / ".join(f"{i:,}" for i in info["iterations"])
    devices = ", ".join(info["devices"]) or "no finished run"
    devices += ", " + " / ".join(info["precisions"])
    if info["paper_protocol"]:
        return (
            f"**{info['profile']} profile: the paper protocol** ({devices}, {iterations} "
            "iterations, batch 256, SGD lr 0.01 divided by 10 every 50,000)."
        )
    digits = [n for n in info["test_samples"] if n != paper.TEST_DIGITS]
    tested = (
        f", final error on {' / '.join(f'{n:,}' for n in digits)} test digits" if digits else ""
    )
    why = "; ".join(info["deviations"])
    return (
        f"**{info['profile']} profile ({devices}, {iterations} iterations{tested}) — not the "
        f"paper protocol ({why}).** Do not read these numbers as a reproduction of the paper's."
    )
