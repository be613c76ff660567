"""Transformation panels in the tracker: what each ST run's transformer does, logged at
every evaluation, so its panel in wandb animates over training.

The panel shows the first evaluation digits (the same every time): the input with the
sampling grid drawn on it, and the ST output. It is drawn by the report's own figure
code (stn.report.transforms_figure.TransformsFigure, built once per run and updated), so the
tracker and results/figures show one picture. Nothing is drawn for a baseline, with
``logger=none`` or with ``logger.panels=false``. Each panel costs a redraw at PANEL_DPI
and a PNG encoding: `make bench` times this code path and sets it against a
quick-profile run's training steps (section "Transformation panels" of
results/bench.md, stn/bench/panels.py).
"""

from __future__ import annotations

import torch

from stn import registry
from stn.generators import make_generator
from stn.grids import bilinear_sample

PANEL_DIGITS = 6  # as many as the report's transforms figure (FIGURE_INDICES)
PANEL_DPI = 80  # ~900 x 110 pixels: legible in wandb, and cheap to redraw


class TransformPanels:
    def __init__(self, cfg, eval_images: torch.Tensor):
        spec = registry.model(cfg.model.name)
        self.enabled = (spec.transform is not None and cfg.logger.name != "none"
                        and cfg.logger.panels)
        if not self.enabled:
            return
        # matplotlib: imported only when panels are drawn
        from stn.report import transforms_figure as figures

        self.figures, self.panels = figures, {}
        self.label = spec.label
        self.color = figures.model_color(cfg.model.name)
        self.where = f"{registry.dataset(cfg.data.name).label}, {spec.label}"
        self.images = eval_images[:PANEL_DIGITS]
        self.split = "val" if cfg.data.validation else "test"  # what eval_images hold
        # The packed model's generator: it holds only the fixed target grid, of the canvas
        # size (stn.models.assemble), so a fresh one equals it (and draws no random numbers).
        size = (cfg.data.image_size, cfg.data.image_size)
        self.generator = make_generator(spec.transform, size).to(eval_images.device)

    @torch.no_grad()
    def log(self, pack, iteration: int) -> None:
        """One panel per active run of ``pack`` (a stn.train.loop.Pack) to its tracker."""
        if not self.enabled:
            return
        inputs = self.images.float().div_(255)
        _, theta = pack.model.forward(inputs, shared_input=True)  # (K, n, P)
        images = self.images.cpu()
        for k, run in pack.active:
            grid = self.generator(theta[k].float())
            warped = bilinear_sample(inputs, grid)
            if run.seed not in self.panels:
                self.panels[run.seed] = self.figures.TransformsFigure(
                    images, {self.label: self.color}, title=None)  # the caption says it
                self.panels[run.seed].figure.set_dpi(PANEL_DPI)
            figure = self.panels[run.seed].update({self.label: (grid.cpu(), warped.cpu())})
            caption = (f"{self.where}, seed {run.seed}, iteration {iteration}: digits 0-"
                       f"{len(images) - 1} of the {self.split} set with the sampling "
                       "grid (left), ST output (right)")
            run.tracker.log_figure("transforms", figure, iteration, caption)
