"""The transforms figure: input digits with each ST's sampling grid, and its outputs.

One figure code for the report (results/figures/transforms_<data>.png) and the tracker's
panels (stn/train/panels.py). It needs matplotlib alone (no pandas, no pyplot), so a run
that logs panels imports little more than it already has.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from stn import registry
from stn.report.geometry import grid_to_pixels

FIGURE_INDICES = tuple(range(6))  # test digits shown in transforms_<data>.png
GRID_LINES = 5  # sampling-grid lines drawn per direction, outline included


def model_color(model: str) -> tuple:
    """One tab10 colour per colour key (transform, else backbone), in registration order:
    FCN, CNN, Aff, Proj, TPS, then any key a later registration brings."""
    keys = list(dict.fromkeys(spec.color_key for spec in registry.models().values()))
    colors = matplotlib.colormaps["tab10"].colors
    return colors[keys.index(registry.model(model).color_key) % len(colors)]


def grid_lines(grid: torch.Tensor, size: int, offset: float = 0.0) -> list[np.ndarray]:
    """Lines of a sampling grid on its input, shifted ``offset`` pixels right: rows and
    columns of output pixel centres, the outermost of them outlining the sampled region."""
    pixels = grid_to_pixels(grid, size).numpy()
    pixels[..., 0] += offset
    height, width = pixels.shape[:2]
    rows = np.linspace(0, height - 1, GRID_LINES).round().astype(int)
    cols = np.linspace(0, width - 1, GRID_LINES).round().astype(int)
    return [pixels[i] for i in rows] + [pixels[:, j] for j in cols]


class TransformsFigure:
    """One row per ST: the input digits side by side with its sampling grids drawn on
    them, then its outputs side by side. Built once for fixed ``images`` (uint8
    (n, 1, S, S)) and one colour per row label; :meth:`update` sets every row's grids
    and outputs. The report draws every ST of a dataset with it; the tracker keeps one
    per run and updates it at every evaluation (stn/train/panels.py), which costs a
    redraw, not a new figure. ``title=None``: no text at all (text is half the cost of a
    redraw; the tracker puts its title in the image's caption instead)."""

    def __init__(self, images: torch.Tensor, colors: dict[str, tuple], title: str | None,
                 indices=FIGURE_INDICES):
        n, size = len(images), images.shape[-1]
        self.size = size
        text = title is not None
        fig = Figure(figsize=(0.9 * n * 2 + 0.3 * text, 1.05 * len(colors) + 0.35 * text))
        axes = fig.subplots(len(colors), 2, squeeze=False, gridspec_kw=dict(
            left=0.03 * text, right=1 - 0.005 * text, bottom=0.02 * text,
            top=1 - 0.3 * text / fig.get_figheight(), wspace=0.03, hspace=0.08))
        strip = torch.cat(list(images[:, 0]), dim=1).numpy()
        self.lines, self.outputs = {}, {}
        for (label, color), (left, right) in zip(colors.items(), axes, strict=True):
            left.imshow(strip, cmap="gray", vmin=0, vmax=255)
            self.lines[label] = left.add_collection(
                LineCollection([], colors=[color], linewidths=0.6))
            left.set_xlim(-0.5, n * size - 0.5)
            left.set_ylim(size - 0.5, -0.5)
            self.outputs[label] = right.imshow(np.zeros_like(strip, dtype=np.float32),
                                               cmap="gray", vmin=0, vmax=1)
            if text:
                left.set_ylabel(label, fontsize=7)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        self.figure, self.title = fig, None
        if text:
            axes[0, 0].set_title("input with the sampling grid: digits #" + ", #".join(
                str(i) for i in indices[:n]), fontsize=7)
            axes[0, 1].set_title("ST output", fontsize=7)
            self.title = fig.suptitle(title, fontsize=8, y=1 - 0.05 / fig.get_figheight(),
                                      va="top")

    def update(self, rows: dict[str, tuple], title: str | None = None) -> Figure:
        """``rows``: label -> (grid (n, H, W, 2), warped (n, 1, H, W) in [0, 1])."""
        for label, (grid, warped) in rows.items():
            self.lines[label].set_segments([line for k in range(len(grid)) for line in
                                            grid_lines(grid[k], self.size, k * self.size)])
            self.outputs[label].set_data(torch.cat(list(warped[:, 0].clamp(0, 1)), 1).numpy())
        if title is not None and self.title is not None:
            self.title.set_text(title)
        return self.figure
