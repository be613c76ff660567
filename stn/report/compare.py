"""Two profiles side by side, cell by cell: does a change of protocol change the errors?

Used to check bf16 autocast against fp32 (the same schedule twice, differing in
schedule.precision) and, once paper-protocol runs exist, a shorter schedule
against the paper's. Each cell compares the two profiles' means over their
complete runs, and again over the seeds that finished on both sides (the fair
comparison while one profile has more seeds than the other); a cell that either
profile lacks is listed with no difference.
"""

from __future__ import annotations

import math

import pandas as pd

from stn.report import paper
from stn.report.table import cell_runs, cell_stats, to_markdown

# Issue 16's target for a shorter schedule against the paper protocol, in points.
TOLERANCE = 0.3


def compare_profiles(runs: pd.DataFrame, baseline: str, candidate: str) -> pd.DataFrame:
    """One row per (data, model) with runs in either profile: means, n and the difference."""
    groups = {name: runs[runs["profile"] == name] for name in (baseline, candidate)}
    both = pd.concat(groups.values())
    present = set(zip(both["data"], both["model"], strict=True))
    rows = []
    for data in paper.datasets():
        for model in paper.models():
            if (data, model) not in present:
                continue
            b, c = (cell_stats(groups[name], model, data) for name in (baseline, candidate))
            b_errors, c_errors = (_complete_errors(groups[name], model, data)
                                  for name in (baseline, candidate))
            shared = sorted(set(b_errors) & set(c_errors))
            rows.append({
                "data": data, "model": model,
                "baseline_mean": b["mean"], "baseline_n": b["n"],
                "candidate_mean": c["mean"], "candidate_n": c["n"],
                "delta": c["mean"] - b["mean"],  # NaN unless both have a finished run
                "shared_seeds": " ".join(str(s) for s in shared),
                "delta_same_seeds": (sum(c_errors[s] - b_errors[s] for s in shared) / len(shared)
                                     if shared else math.nan),
            })
    return pd.DataFrame(rows)


def _complete_errors(runs: pd.DataFrame, model: str, data: str) -> dict[int, float]:
    """Final test error by seed of the complete runs of one cell."""
    cell = cell_runs(runs, model, data)
    cell = cell[cell["state"] == "complete"]
    return {int(seed): float(error) for seed, error in zip(cell["seed"], cell["test_error"],
                                                           strict=True)}


def summary(frame: pd.DataFrame, column: str = "delta") -> dict:
    deltas = frame[column].dropna()  # NaN statistics when no cell has both sides
    return {
        "cells": len(deltas),
        "mean_delta": float(deltas.mean()),
        "mean_abs_delta": float(deltas.abs().mean()),
        "max_abs_delta": float(deltas.abs().max()),
        "candidate_lower": int((deltas < 0).sum()),
        "within_tolerance": int((deltas.abs() <= TOLERANCE).sum()),
    }


def comparison_markdown(frame: pd.DataFrame, infos: dict[str, dict], baseline: str,
                        candidate: str, command: str) -> str:
    """``infos``: table.describe_profile of each profile, by name."""
    s, same = summary(frame), summary(frame, "delta_same_seeds")
    described = {name: infos[name] for name in (baseline, candidate)}
    lines = [
        f"# Profile `{candidate}` against profile `{baseline}`, cell by cell",
        "",
        f"- Command: `{command}`",
        *[f"- `{name}`: {', '.join(info['precisions'])}; "
          f"{' / '.join(f'{i:,}' for i in info['iterations'])} iterations; "
          f"{', '.join(info['hardware']) or 'unknown hardware'}; "
          f"commit {', '.join(info['git_commits']) or 'unknown'}"
          for name, info in described.items()],
        f"- delta = mean % test error of `{candidate}` - mean of `{baseline}`, in points, "
        "over complete runs only (a missing side leaves the cell blank).",
        f"- Over {s['cells']} cells: mean delta {s['mean_delta']:+.2f}, mean |delta| "
        f"{s['mean_abs_delta']:.2f}, max |delta| {s['max_abs_delta']:.2f}; `{candidate}` lower "
        f"in {s['candidate_lower']} of {s['cells']}.",
        f"- Same seeds (delta over the seeds complete on both sides): over {same['cells']} "
        f"cells, mean delta {same['mean_delta']:+.2f}, mean |delta| "
        f"{same['mean_abs_delta']:.2f}, max |delta| {same['max_abs_delta']:.2f}; within "
        f"{TOLERANCE} points in {same['within_tolerance']} of {same['cells']}.",
        "",
    ]
    shown = pd.DataFrame({
        "data": frame["data"].map(paper.data_label),
        "model": [paper.model_label(m) for m in frame["model"]],
        baseline: [_cell(frame, "baseline", i) for i in frame.index],
        candidate: [_cell(frame, "candidate", i) for i in frame.index],
        "delta": [_signed(d) for d in frame["delta"]],
        "same seeds": frame["shared_seeds"],
        "delta, same seeds": [_signed(d) for d in frame["delta_same_seeds"]],
    })
    return "\n".join(lines) + "\n" + to_markdown(shown)


def _signed(delta: float) -> str:
    return "" if math.isnan(delta) else f"{delta:+.2f}"


def _cell(frame: pd.DataFrame, side: str, i) -> str:
    mean, n = frame.at[i, f"{side}_mean"], frame.at[i, f"{side}_n"]
    return "" if math.isnan(mean) else f"{mean:.2f} (n={n})"
