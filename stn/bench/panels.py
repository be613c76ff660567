"""The cost of the transformation panels (stn.train.panels) against a quick-profile run.

An ST run draws one panel per evaluation. Here TransformPanels.log itself runs on a
fresh 28 px model of each ST model the throughput section timed, with a tracker whose
log_figure does what the wandb run's does (stn.train.tracking.figure_image: Agg render,
then wandb.Image, which encodes the PNG) but keeps the image instead of writing it to a
run: the forward on the panel digits, the grid, the figure update, the render and the
encoding are timed; the run's copy of the PNG into its media folder is not.

The first panel of a run also builds its figure, so it is reported apart. The first
panel of a process also pays the one-time import of the figure code (matplotlib) and
its first render: it is measured in a fresh Python process that has already imported
what every wandb-logging run imports with no panel at all (torch, wandb, the trainer),
and it is added for a run in a fresh process (the later runs of a sweep worker, e.g.
joblib's, do not pay it again). With the schedule's number of evaluations
(panels.schedule: quick) and the trainer's step time of the same model in this bench
run, a run's panel time is set against the time of its training steps.
"""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
import subprocess
import sys
import time
from types import SimpleNamespace

from omegaconf import OmegaConf

from stn import registry
from stn.bench.throughput import synthetic_data
from stn.precision import resolve_precision
from stn.train.packed import PackedRuns
from stn.train.panels import PANEL_DIGITS, TransformPanels
from stn.train.tracking import figure_image

SIZE = 28


class ImageTracker:
    """A tracker that makes the wandb.Image of each figure, as WandbRun.log_figure does,
    and keeps it (no wandb run)."""

    def __init__(self):
        self.images = []

    def log_figure(self, key: str, figure, step: int, caption: str | None = None) -> None:
        self.images.append(figure_image(figure, caption))


def evaluations(schedule) -> int:
    """Evaluations of a run (stn.train.loop): every eval_every iterations and the last."""
    return math.ceil(schedule.iterations / schedule.eval_every)


def run_panels(cfg, throughput: list[dict], device, log) -> dict | None:
    """One row per ST model timed at 28 px by the throughput section; None without one."""
    count, schedule = cfg.panels.count, cfg.panels.schedule
    data = next((d for d in cfg.datasets.values() if d.image_size == SIZE), None)
    timed = [row for row in throughput if row["image_size"] == SIZE
             and registry.model(row["model"]).transform is not None]
    if data is None or not timed:
        log(f"panels: no {SIZE} px ST model timed (or no {SIZE} px dataset): not measured")
        return None
    if importlib.util.find_spec("wandb") is None:  # e.g. the GPU image: no run logs a panel
        log("panels: wandb is not installed (a panel is a wandb.Image): not measured")
        return None
    process_first = fresh_process_first_panel(timed[0], data, device)
    time_panels(timed[0], data, device, 1)  # this process's one-time setup, not timed below
    n_eval = evaluations(schedule)
    precision = resolve_precision(schedule.precision, device)
    rows = []
    for row in timed:
        first, *others = time_panels(row, data, device, count)
        panel = statistics.median(others) if others else first
        loop = step_loop(row, precision)
        # The step was timed at the bench's batch; scaled linearly to the schedule's batch.
        step_s = row[loop]["step_s"] * schedule.batch_size / row["batch_size"]
        steps_s, panels_s = schedule.iterations * step_s, first + (n_eval - 1) * panel
        rows.append({
            "model": row["model"], "image_size": SIZE, "dataset": data.name, "panels": count,
            "first_ms": 1000 * first, "panel_ms": 1000 * panel,
            "step_loop": loop, "trainer_step_ms": 1000 * row[loop]["step_s"],
            "step_precision": "fp32" if loop == "trainer_fp32" else row["precision"],
            "schedule_precision": precision, "bench_batch_size": row["batch_size"],
            "run_steps_s": steps_s, "run_panels_s": panels_s,
            "pct_of_steps": 100 * panels_s / steps_s,
        })
    # The one-time setup: a fresh process's first panel over the same model's first one here.
    setup_s = max(process_first - rows[0]["first_ms"] / 1000, 0.0)
    for out in rows:
        out["pct_of_steps_fresh_process"] = (
            100 * (out["run_panels_s"] + setup_s) / out["run_steps_s"])
        log(f"panels {out['model']} {SIZE}px: first {out['first_ms']:.0f} ms, then "
            f"{out['panel_ms']:.0f} ms each; a {schedule.name} run's {n_eval} panels: "
            f"{out['pct_of_steps']:.2f}% of its steps' time "
            f"({out['pct_of_steps_fresh_process']:.2f}% in a fresh process)")
    return {
        "schedule": {"name": schedule.name, "iterations": schedule.iterations,
                     "eval_every": schedule.eval_every, "evaluations": n_eval,
                     "batch_size": schedule.batch_size},
        "process_first_panel_ms": 1000 * process_first, "process_setup_ms": 1000 * setup_s,
        "models": rows,
    }


def step_loop(row: dict, precision: str) -> str:
    """The throughput loop timed at the schedule's precision: the trainer, or the fp32
    trainer; the trainer (at another precision) where neither is."""
    if precision == "fp32" and "trainer_fp32" in row:
        return "trainer_fp32"
    return "trainer"


def time_panels(row: dict, data, device, count: int, construct: bool = False) -> list[float]:
    """Seconds of each of ``count`` TransformPanels.log calls for one fresh run of the
    row's model, at that row's trainer precision. The model has run a forward pass before,
    as a run's has by its first evaluation. ``construct``: the first time also counts the
    TransformPanels construction (which imports the figure code in a fresh process)."""
    name = row["model"]
    cfg = OmegaConf.create({"model": {"name": name}, "logger": {"name": "wandb", "panels": True},
                            "data": OmegaConf.to_container(data, resolve=True)})
    images, _ = synthetic_data(PANEL_DIGITS, SIZE)
    images = images.to(device)
    tracker = ImageTracker()
    pack = SimpleNamespace(  # what TransformPanels.log reads of a stn.train.loop.Pack
        model=PackedRuns(name, SIZE, [0], device, row["precision"]),
        active=[(0, SimpleNamespace(seed=0, tracker=tracker))],
    )
    pack.model.forward(images.float() / 255, shared_input=True)
    start = time.perf_counter()
    panels = TransformPanels(cfg, images)
    built = time.perf_counter() - start
    seconds = []
    for i in range(count):
        start = time.perf_counter()
        panels.log(pack, i + 1)  # its .cpu() copies wait for the device
        seconds.append(time.perf_counter() - start)
    if construct:
        seconds[0] += built
    if len(tracker.images) != count:
        raise RuntimeError(f"{name}: {len(tracker.images)} panel images, expected {count}")
    return seconds


# A fresh process that has imported what a wandb-logging run imports anyway, then times
# its first panel: TransformPanels (which imports the figure code) and one log.
_FRESH_PANEL = """
import json, sys
import torch, wandb  # noqa: F401  (a wandb-logging run has both before its first panel)
from omegaconf import OmegaConf
import stn.train.loop  # noqa: F401
from stn.bench import panels
row, data, device = json.loads(sys.argv[1])
[first] = panels.time_panels(row, OmegaConf.create(data), torch.device(device), 1, True)
print(json.dumps(first))
"""


def fresh_process_first_panel(row: dict, data, device) -> float:
    """Seconds of the first panel of a fresh process (figure-code import included)."""
    args = json.dumps([row, OmegaConf.to_container(data, resolve=True), str(device)])
    result = subprocess.run([sys.executable, "-c", _FRESH_PANEL, args], capture_output=True,
                            text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"fresh-process panel failed: {result.stderr.strip()[-500:]}")
    return float(result.stdout.strip().splitlines()[-1])
