"""Two profiles side by side, cell by cell: does a change of protocol change the errors?

Used to check bf16 autocast against fp32 (the same schedule twice, differing in
schedule.precision) and, once paper-protocol runs exist, a shorter schedule
against the paper's. Each cell compares the two profiles' means over their
complete runs; a cell that either profile lacks is listed with no difference.
"""

from __future__ import annotations

import math

import pandas as pd

from stn.report import paper
from stn.report.table import cell_stats, to_markdown


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
            rows.append({
                "data": data, "model": model,
                "baseline_mean": b["mean"], "baseline_n": b["n"],
                "candidate_mean": c["mean"], "candidate_n": c["n"],
                "delta": c["mean"] - b["mean"],  # NaN unless both have a finished run
            })
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> dict:
    deltas = frame["delta"].dropna()  # NaN statistics when no cell has both sides
    return {
        "cells": len(deltas),
        "mean_delta": float(deltas.mean()),
        "mean_abs_delta": float(deltas.abs().mean()),
        "max_abs_delta": float(deltas.abs().max()),
        "candidate_lower": int((deltas < 0).sum()),
    }


def comparison_markdown(frame: pd.DataFrame, infos: dict[str, dict], baseline: str,
                        candidate: str, command: str) -> str:
    """``infos``: table.describe_profile of each profile, by name."""
    s = summary(frame)
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
        "",
    ]
    shown = pd.DataFrame({
        "data": frame["data"].map(paper.data_label),
        "model": [paper.model_label(m) for m in frame["model"]],
        baseline: [_cell(frame, "baseline", i) for i in frame.index],
        candidate: [_cell(frame, "candidate", i) for i in frame.index],
        "delta": ["" if math.isnan(d) else f"{d:+.2f}" for d in frame["delta"]],
    })
    return "\n".join(lines) + "\n" + to_markdown(shown)


def _cell(frame: pd.DataFrame, side: str, i) -> str:
    mean, n = frame.at[i, f"{side}_mean"], frame.at[i, f"{side}_n"]
    return "" if math.isnan(mean) else f"{mean:.2f} (n={n})"
