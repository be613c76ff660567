"""The cost of the transformation panels (stn.train.panels) against a quick-profile run.

An ST run draws one panel per evaluation. Here TransformPanels.log itself runs on a
fresh 28 px model of each ST model the throughput section timed, and logs through a real
offline wandb run (stn.train.tracking.WandbRun, in a temporary folder), as a training
run does: the forward on the panel digits, the grid, the figure update, the render, the
PNG encoding and wandb's copy into the run's media folder are timed; opening and
finishing the run are not (a run with panels off opens and finishes it too). The panel
digits are the first MNIST test digits where paths.mnist_dir is set; without it,
uint8 noise, which PNG-encodes several times slower than digits (a pessimistic figure).

The first panel of a run also builds its figure, so it is reported apart. The first
panel of a process also pays the one-time import of the figure code (matplotlib) and
its first render: it is measured in a fresh Python process that has already imported
what every wandb-logging run imports with no panel at all (torch, wandb, the trainer),
and it is added for a run in a fresh process. A worker of the quick profile's sweep
(`make reproduce-mnist PROFILE=quick`: Hydra's joblib launcher, whose workers run one
run after another) pays it once for all its runs. With the schedule's number of
evaluations (panels.schedule: quick) and the trainer's step time of the same model in
this bench run, a run's panel time is set against the time of its training steps.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from omegaconf import OmegaConf

from stn import registry
from stn.bench.throughput import synthetic_data
from stn.data.mnist import load_mnist
from stn.precision import resolve_precision
from stn.train.packed import PackedRuns
from stn.train.panels import PANEL_DIGITS, TransformPanels
from stn.train.tracking import WandbRun

SIZE = 28


def panel_digits(mnist_dir) -> tuple[torch.Tensor, str]:
    """The panel's digits, uint8 (PANEL_DIGITS, 1, 28, 28), and where they came from."""
    if mnist_dir is None:  # no download in a benchmark
        images, _ = synthetic_data(PANEL_DIGITS, SIZE)
        return images, "synthetic uint8 noise (paths.mnist_dir unset; slower to encode)"
    images, _ = load_mnist("test", mnist_dir)
    return images[:PANEL_DIGITS, None], f"the first MNIST test digits ({Path(mnist_dir).name}/)"


@contextlib.contextmanager
def offline_run(name: str):
    """A real wandb run, offline whatever WANDB_MODE says, and its folder (deleted after)."""
    saved = os.environ.get("WANDB_MODE")
    os.environ["WANDB_MODE"] = "offline"
    try:
        with tempfile.TemporaryDirectory(prefix="stn-bench-panels-") as folder:
            logger = OmegaConf.create({"project": "stn-bench", "mode": "offline"})
            run = WandbRun(logger, Path(folder), name, "bench", {}, f"bench-{time.time_ns()}")
            try:
                yield run, Path(folder)
            finally:
                run.finish()
    finally:
        if saved is None:
            os.environ.pop("WANDB_MODE", None)
        else:
            os.environ["WANDB_MODE"] = saved


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
    digits, source = panel_digits(cfg.paths.mnist_dir)
    process_first = fresh_process_first_panel(timed[0], data, device, cfg.paths.mnist_dir)
    time_panels(timed[0], data, device, 1, digits)  # this process's one-time setup, untimed
    n_eval = evaluations(schedule)
    precision = resolve_precision(schedule.precision, device)
    rows = []
    for row in timed:
        first, *others = time_panels(row, data, device, count, digits)
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
        "digits_source": source,
        "process_first_panel_ms": 1000 * process_first, "process_setup_ms": 1000 * setup_s,
        "models": rows,
    }


def step_loop(row: dict, precision: str) -> str:
    """The throughput loop timed at the schedule's precision: the trainer, or the fp32
    trainer; the trainer (at another precision) where neither is."""
    if precision == "fp32" and "trainer_fp32" in row:
        return "trainer_fp32"
    return "trainer"


def time_panels(row: dict, data, device, count: int, digits: torch.Tensor,
                construct: bool = False) -> list[float]:
    """Seconds of each of ``count`` TransformPanels.log calls for one fresh run of the
    row's model, at that row's trainer precision, logging to a real offline wandb run.
    The model has run a forward pass before, as a run's has by its first evaluation.
    ``construct``: the first time also counts the TransformPanels construction (which
    imports the figure code in a fresh process)."""
    name = row["model"]
    cfg = OmegaConf.create({"model": {"name": name}, "logger": {"name": "wandb", "panels": True},
                            "data": OmegaConf.to_container(data, resolve=True)})
    images = digits.to(device)
    pack = SimpleNamespace(  # what TransformPanels.log reads of a stn.train.loop.Pack
        model=PackedRuns(name, SIZE, [0], device, row["precision"]), active=[])
    pack.model.forward(images.float() / 255, shared_input=True)
    seconds = []
    with offline_run(name) as (tracker, folder):
        pack.active.append((0, SimpleNamespace(seed=0, tracker=tracker)))
        start = time.perf_counter()
        panels = TransformPanels(cfg, images)
        built = time.perf_counter() - start
        for i in range(count):
            start = time.perf_counter()
            panels.log(pack, i + 1)  # its .cpu() copies wait for the device
            seconds.append(time.perf_counter() - start)
        media = list(folder.rglob("media/images/transforms_*.png"))
    if len(media) != count:
        raise RuntimeError(f"{name}: {len(media)} panel images in the wandb run, not {count}")
    if construct:
        seconds[0] += built
    return seconds


# A fresh process that has imported what a wandb-logging run imports anyway, then times
# its first panel: TransformPanels (which imports the figure code) and one log.
_FRESH_PANEL = """
import json, sys
import torch, wandb  # noqa: F401  (a wandb-logging run has both before its first panel)
from omegaconf import OmegaConf
import stn.train.loop  # noqa: F401
from stn.bench import panels
row, data, device, mnist_dir = json.loads(sys.argv[1])
digits, _ = panels.panel_digits(mnist_dir)
[first] = panels.time_panels(row, OmegaConf.create(data), torch.device(device), 1, digits,
                             construct=True)
print(json.dumps(first))
"""


def fresh_process_first_panel(row: dict, data, device, mnist_dir) -> float:
    """Seconds of the first panel of a fresh process (figure-code import included)."""
    args = json.dumps([row, OmegaConf.to_container(data, resolve=True), str(device), mnist_dir])
    result = subprocess.run([sys.executable, "-c", _FRESH_PANEL, args], capture_output=True,
                            text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"fresh-process panel failed: {result.stderr.strip()[-500:]}")
    return float(result.stdout.strip().splitlines()[-1])
