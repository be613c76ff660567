"""Figures of one profile, per dataset: transforms, test-error curves, undistortion.

Every figure uses the final checkpoint of seed 0 of each complete ST run and
the same test digits every time (``FIGURE_INDICES``), so figures of different
runs and commits compare digit for digit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from matplotlib.figure import Figure
from omegaconf import OmegaConf

from stn import registry
from stn.errors import UserError
from stn.models import build_model
from stn.report import paper, undistortion
from stn.report.transforms_figure import FIGURE_INDICES, TransformsFigure, model_color
from stn.train import run_folder

UNDISTORT_SAMPLES = 1000  # first test digits of the undistortion scatter plots


def st_models() -> list[str]:
    """The registered models with a spatial transformer, in the table's order."""
    return [name for name, spec in registry.models().items() if spec.transform is not None]


def load_st(run: pd.Series) -> torch.nn.Module:
    """The spatial transformer of a run's final checkpoint, on the CPU, in eval mode."""
    model = build_model(run["model"], int(run["data_config"]["image_size"]), int(run["budget"]))
    path = run["path"] / run_folder.CHECKPOINT_FILE
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as exc:  # the model code changed since the run
        raise UserError(
            f"{path} does not fit the current {run['model']} ({type(exc).__name__}); "
            "retrain, or build the report without figures: report.figures=false"
        ) from exc
    return model.eval().spatial_transformer


@torch.no_grad()
def transform(st: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(warped output, sampling grid output -> input) for uint8 images."""
    warped, theta = st(images.float() / 255)
    return warped, st.generator(theta)


def seed0_runs(runs: pd.DataFrame) -> dict[str, pd.Series]:
    """model -> its complete seed-0 run (the figures' checkpoint)."""
    done = runs[(runs["state"] == "complete") & (runs["seed"] == 0)]
    return {row["model"]: row for _, row in done.iterrows()}


def test_split(run: pd.Series, data_dir, mnist_dir) -> dict:
    from stn.data.datasets import ensure_dataset, load_split

    data_cfg = OmegaConf.create(run["data_config"])
    ensure_dataset(data_cfg, data_dir, mnist_dir)
    return load_split(data_cfg, data_dir, "test")


def plot_transforms(data: str, sts: dict[str, torch.nn.Module], test: dict, path: Path) -> None:
    """Rows: the ST models; the first test digits with each ST's sampling grid, and its
    outputs."""
    indices = [i for i in FIGURE_INDICES if i < len(test["labels"])]
    images = test["images"][indices]
    title = (f"{paper.data_label(data)}: input with the ST sampling grid, and ST output "
             "(seed 0, final checkpoint)")
    figure = TransformsFigure(images, {paper.model_label(m): model_color(m) for m in sts},
                              title, indices)
    rows = {}
    for model, st in sts.items():
        warped, grid = transform(st, images)
        rows[paper.model_label(model)] = (grid, warped)
    figure.update(rows).savefig(path, dpi=120)


def plot_curves(data: str, runs: pd.DataFrame, path: Path) -> None:
    """Test error against iteration: one solid line per seed, FCN and CNN backbones apart,
    the paper's number dashed in the same colour (every model, run or not)."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, net in zip(axes, ("fcn", "cnn"), strict=True):
        for model in (m for m, spec in registry.models().items() if spec.backbone == net):
            color = model_color(model)
            for _, run in runs[runs["model"] == model].iterrows():
                metrics = pd.DataFrame(run_folder.read_metrics(run["path"]))
                if not metrics.empty:
                    x, y = metrics["iteration"].astype(int), metrics["test_error"].astype(float)
                    ax.plot(x, y, color=color, lw=1, alpha=0.8)
            reference = paper.paper_error(model, data)[0]
            if reference is None:  # no paper number: the solid lines only
                ax.plot([], [], color=color, lw=1, label=paper.model_label(model))
            else:
                ax.axhline(reference, color=color, ls="--", lw=0.8,
                           label=paper.model_label(model))
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("test error (%)")
        ax.set_title(f"{paper.data_label(data)}, {net.upper()} backbone")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, title="solid: ours (per seed), dashed: paper", title_fontsize=7)
    fig.suptitle(
        "Curve points use metrics.csv's test_samples digits; the table uses all test digits",
        fontsize=8,
    )
    fig.savefig(path, dpi=120)


def write_figures(
    runs: pd.DataFrame, out_dir: Path, data_dir, mnist_dir, notes: dict[str, str]
) -> list[Path]:
    """All figures of one profile's runs; why a figure is missing goes into ``notes``.

    The test digits come from the data config of the first ST run of a dataset
    (all runs of one profile share it unless someone overrode data.* per run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for data in paper.datasets():
        of_data = runs[runs["data"] == data]
        if of_data.empty:
            continue
        path = out_dir / f"curves_{data}.png"
        plot_curves(data, of_data, path)
        written.append(path)
        seed0 = seed0_runs(of_data)
        with_checkpoint = [
            m
            for m in st_models()
            if m in seed0 and (seed0[m]["path"] / run_folder.CHECKPOINT_FILE).exists()
        ]  # rows in the table's order
        if not with_checkpoint:
            notes[data] = "No complete seed-0 ST run with a checkpoint: no transform figures."
            continue
        sts = {m: load_st(seed0[m]) for m in with_checkpoint}
        test = test_split(seed0[with_checkpoint[0]], data_dir, mnist_dir)
        path = out_dir / f"transforms_{data}.png"
        plot_transforms(data, sts, test, path)
        written.append(path)

        names = list(test["param_names"])
        if not undistortion.quantities(names):
            notes[data] = "No rotation, scale or translation recorded: no undistortion figure."
            continue
        images = test["images"][:UNDISTORT_SAMPLES]
        grids = {m: transform(st, images)[1] for m, st in sts.items()}
        path = out_dir / f"undistortion_{data}.png"
        undistortion.plot_undistortion(data, grids, test["params"], names, images.shape[-1], path)
        written.append(path)
    return written
