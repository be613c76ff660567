"""Images per second of the trainer's step against the reference loop, per model and size.

The trainer side is exactly what stn.train.loop runs each iteration: one
gather from the resident uint8 tensor (TrainingData.train_batch) and
stn.train.step.sgd_step on PackedRuns. The images are synthetic uint8 noise
of the right shape: the step's cost does not depend on pixel values.
"""

from __future__ import annotations

import gc

import torch

from stn.bench.reference import ReferenceLoop
from stn.bench.timing import measure_alternating
from stn.models import DEFAULT_BUDGET
from stn.precision import resolve_precision
from stn.train.data import TrainingData
from stn.train.optim import make_optimizer
from stn.train.packed import PackedRuns
from stn.train.step import sgd_step

ST_CNNS = ("st_cnn_aff", "st_cnn_proj", "st_cnn_tps")


class TrainerLoop:
    """``step()`` runs one trainer iteration for K = len(seeds) packed runs."""

    def __init__(self, model_name, image_size, data: TrainingData, seeds, schedule, device,
                 precision, budget: int = DEFAULT_BUDGET):
        self.packed = PackedRuns(model_name, image_size, list(seeds), device, precision, budget)
        self.optimizer = make_optimizer(self.packed.params, schedule)
        self.data = data
        self.iteration = 0

    def step(self):
        images, labels = self.data.train_batch(self.packed.seeds, self.iteration)
        self.iteration += 1
        return sgd_step(self.packed, self.optimizer, images, labels)


def synthetic_data(n: int, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, image_size, image_size), generator=generator)
    labels = torch.randint(0, 10, (n,), generator=generator)
    return images.to(torch.uint8), labels


def run_throughput(cfg, models, sizes, device, log) -> list[dict]:
    """One row per (model, image size): trainer, reference and packed figures.

    The trainer runs at the precision training resolves to on this device
    (schedule.precision); when that is not fp32, the fp32 trainer is timed too,
    so the gain of bf16 and the gain of everything else show apart.
    """
    t, batch = cfg.throughput, cfg.schedule.batch_size
    precision = resolve_precision(cfg.schedule.precision, device)
    rows = []
    for size in sizes:
        images, labels = synthetic_data(t.n_images, size)
        split = {"images": images, "labels": labels}
        data = TrainingData(split, split, batch, None, device)
        packed = size in t.packed_sizes and t.packed_runs > 1
        for name in models:
            loops = {
                "trainer": TrainerLoop(name, size, data, [0], cfg.schedule, device, precision),
                "reference": ReferenceLoop(
                    name, size, images, labels, cfg.schedule, t.reference_workers, device
                ),
            }
            if precision != "fp32":
                loops["trainer_fp32"] = TrainerLoop(
                    name, size, data, [0], cfg.schedule, device, "fp32"
                )
            if packed:
                seeds = range(t.packed_runs)
                loops["packed"] = TrainerLoop(
                    name, size, data, seeds, cfg.schedule, device, precision
                )
            m = measure_alternating(
                {key: loop.step for key, loop in loops.items()},
                device, t.warmup, t.blocks, t.steps_per_block,
            )
            row = {"model": name, "image_size": size, "batch_size": batch, "precision": precision}
            for key, runs in (("trainer", 1), ("trainer_fp32", 1), ("reference", 1),
                              ("packed", t.packed_runs)):
                if key in m:
                    row[key] = {**m[key], "runs": runs,
                                "images_per_s": runs * batch / m[key]["step_s"],
                                "images_per_s_best": runs * batch / m[key]["step_s_min"]}
            # The median is the figure; the best block is what a machine without the other
            # processes' load would give, and the stabler of the two on a shared CPU.
            row["trainer_over_reference"] = (
                row["trainer"]["images_per_s"] / row["reference"]["images_per_s"]
            )
            row["trainer_over_reference_best"] = (
                row["trainer"]["images_per_s_best"] / row["reference"]["images_per_s_best"]
            )
            if "trainer_fp32" in row:
                row["trainer_fp32_over_reference"] = (
                    row["trainer_fp32"]["images_per_s"] / row["reference"]["images_per_s"]
                )
            if packed:
                row["packed_over_trainer"] = (
                    row["packed"]["images_per_s"] / row["trainer"]["images_per_s"]
                )
            rows.append(row)
            log(_summary(row))
            del loops
            gc.collect()  # free this model's buffers before the next one is timed
        del data
    return rows


def st_overhead(rows: list[dict]) -> list[dict]:
    """% extra step time of each ST-CNN over the CNN at the same size and batch."""
    step = {(r["model"], r["image_size"]): r for r in rows}
    out = []
    for (name, size), row in step.items():
        cnn = step.get(("cnn", size))
        if name not in ST_CNNS or cnn is None:
            continue
        entry = {"model": name, "image_size": size}
        for key in ("trainer", "reference"):
            entry[f"{key}_pct"] = 100 * (row[key]["step_s"] / cnn[key]["step_s"] - 1)
        out.append(entry)
    return out


def _summary(row: dict) -> str:
    text = (
        f"{row['model']:>12} {row['image_size']:>2}px"
        f"  trainer {row['trainer']['images_per_s']:8.0f} img/s"
        f"  reference {row['reference']['images_per_s']:8.0f} img/s"
        f"  ratio {row['trainer_over_reference']:.2f}"
    )
    if "packed" in row:
        text += f"  packed K={row['packed']['runs']} {row['packed']['images_per_s']:8.0f} img/s"
    return text
