"""Metric logging: metrics.csv always, wandb (offline by default) when enabled."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class WandbRun:
    """One wandb run per training run, stored inside the run folder.

    Offline unless WANDB_MODE says otherwise, so it needs no network or
    account; `wandb sync <run folder>/wandb/offline-run-*` uploads later.
    """

    def __init__(self, logger_cfg, folder: Path, name: str, group: str, config: dict, run_id: str):
        import wandb  # imported lazily: slow to import and unused with logger=none

        self._run = wandb.init(
            project=logger_cfg.project,
            name=name,
            group=group,
            dir=str(folder),
            id=run_id,
            resume="allow",
            mode=os.environ.get("WANDB_MODE", logger_cfg.mode),
            config=config,
            reinit="create_new",
            settings=wandb.Settings(silent=True, console="off"),
        )

    def log(self, metrics: dict[str, Any], step: int) -> None:
        self._run.log(metrics, step=step)

    def log_figure(self, key: str, figure, step: int, caption: str | None = None) -> None:
        """A matplotlib Figure as one image entry (figure_image)."""
        self._run.log({key: figure_image(figure, caption)}, step=step)

    def finish(self, exit_code: int = 0) -> None:
        self._run.finish(exit_code=exit_code)


def figure_image(figure, caption: str | None = None):
    """A matplotlib Figure rendered (Agg: no pyplot, no display) into a wandb.Image, which
    encodes it as a PNG at once."""
    import numpy as np
    import wandb
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    return wandb.Image(pixels, caption=caption)


class NullRun:
    def log(self, metrics: dict[str, Any], step: int) -> None:
        pass

    def log_figure(self, key: str, figure, step: int, caption: str | None = None) -> None:
        pass

    def finish(self, exit_code: int = 0) -> None:
        pass


def open_tracker(logger_cfg, folder: Path, name: str, group: str, config: dict, run_id: str):
    if logger_cfg.name == "none":
        return NullRun()
    return WandbRun(logger_cfg, folder, name, group, config, run_id)
