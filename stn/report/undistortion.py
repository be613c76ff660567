"""How well each learned transform undoes the known distortion (beyond the paper).

The test set records each sample's forward distortion (``params``, columns
from stn.data.distortions.param_names). From each ST's sampling grid we read
the closest similarity transform (stn.report.geometry) and plot it against
the truth. An ST that undoes the distortion shows, up to a pose of its own:
- angle (R, RTS): predicted = true + a constant (slope +1);
- scale (RTS, P, E): predicted proportional to true (the ST picks its own zoom);
- translation tx, ty (RTS, TC): predicted = true, in input pixels.
P and E have no further single-number summary (their corner / control-point
offsets are local), so only their scale is compared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from stn.report import paper
from stn.report.geometry import fit_affine, similarity_parts


def quantities(names: list[str]) -> list[str]:
    """Which comparisons the recorded params of a dataset allow."""
    found = [q for q in ("angle", "scale") if q in names]
    return found + (["translation"] if {"tx", "ty"} <= set(names) else [])


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant prediction: NaN
        return float(np.corrcoef(x, y)[0, 1])


def _panel(ax, quantity: str, true: dict, pred: dict) -> str:
    """Scatter one quantity; returns the summary shown in the panel title."""
    if quantity == "angle":
        x, y = true["angle"], pred["angle"]
        offset = float(np.median((y - x + 180) % 360 - 180))  # the ST's own pose, wrapped
        ax.scatter(x, y, s=2, alpha=0.4)
        ax.plot(
            np.sort(x), np.sort(x) + offset, "k--", lw=0.8, zorder=0
        )  # slope +1 through the median offset
        ax.set_xlabel("true angle (deg)")
        ax.set_ylabel("ST rotation (deg)")
        return f"r={_pearson(x, y):.3f}, offset {offset:+.1f}°"
    if quantity == "scale":
        x, y = true["scale"], pred["scale"]
        slope = float(np.dot(x, y) / np.dot(x, x))  # least squares through the origin
        ax.scatter(x, y, s=2, alpha=0.4)
        ax.plot(np.sort(x), slope * np.sort(x), "k--", lw=0.8, zorder=0)
        ax.set_xlabel("true scale")
        ax.set_ylabel("ST scale")
        return f"r={_pearson(x, y):.3f}, pred≈{slope:.2f}·true"
    for axis, color in (("tx", "tab:blue"), ("ty", "tab:orange")):
        ax.scatter(true[axis], pred[axis], s=2, alpha=0.4, color=color, label=axis)
    both = np.concatenate((true["tx"], true["ty"]))
    ax.plot([both.min(), both.max()], [both.min(), both.max()], "k--", lw=0.8, zorder=0)
    ax.set_xlabel("true shift (px)")
    ax.set_ylabel("ST shift (px)")
    ax.legend(fontsize=6, markerscale=3)
    error = np.concatenate((pred["tx"] - true["tx"], pred["ty"] - true["ty"]))
    return f"r_x={_pearson(true['tx'], pred['tx']):.3f}, rms {np.sqrt(np.mean(error**2)):.1f}px"


def plot_undistortion(
    data: str,
    grids: dict[str, torch.Tensor],
    params: torch.Tensor,
    names: list[str],
    input_size: int,
    path: Path,
) -> None:
    """Rows: ST models (their sampling grids of the first test digits); columns: the
    quantities of ``quantities(names)`` (the caller skips datasets with none)."""
    columns = quantities(names)
    true = {
        name: params[: len(next(iter(grids.values()))), i].numpy() for i, name in enumerate(names)
    }
    fig = Figure(figsize=(max(3.6 * len(columns), 6.0), 2.8 * len(grids)), layout="constrained")
    axes = fig.subplots(len(grids), len(columns), squeeze=False)
    for row, (model, grid) in enumerate(grids.items()):
        pred = {k: v.numpy() for k, v in similarity_parts(fit_affine(grid), input_size).items()}
        for col, quantity in enumerate(columns):
            summary = _panel(axes[row, col], quantity, true, pred)
            axes[row, col].set_title(f"{paper.model_label(model)}: {summary}", fontsize=8)
            axes[row, col].grid(True, alpha=0.3)
    fig.suptitle(
        f"{paper.data_label(data)}: each ST's closest similarity transform\n"
        f"vs the recorded distortion ({len(true[names[0]])} test digits, seed 0)",
        fontsize=9,
    )
    fig.savefig(path, dpi=110)
