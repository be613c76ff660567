"""bench(cfg): the whole benchmark behind scripts/bench.py, returning what it wrote."""

from __future__ import annotations

import datetime
import os
import shlex
import sys

import torch
from omegaconf import OmegaConf

from stn import registry
from stn.allocator import keep_freed_memory
from stn.bench.datagen import redraw_overhead, run_datagen
from stn.bench.first_conv import run_first_conv
from stn.bench.panels import run_panels
from stn.bench.pooling import run_pooling
from stn.bench.report import write_outputs
from stn.bench.throughput import run_throughput, st_overhead
from stn.bench.timing import memory_kind
from stn.models import IMAGE_SIZES
from stn.precision import resolve_precision
from stn.train.provenance import git_commit, hardware, resolve_device, versions


def selection(cfg) -> tuple[list[str], list[int]]:
    """The models and image sizes to time: the config's lists ([] times none), or every
    registered model and every image size."""
    models = list(registry.model_names() if cfg.models is None else cfg.models)
    return models, list(IMAGE_SIZES if cfg.image_sizes is None else cfg.image_sizes)


def bench(cfg, log=print) -> dict:
    keep_freed_memory()  # as training does; every loop of this process shares it
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    models, sizes = selection(cfg)
    t = cfg.throughput
    environment = {
        "command": shlex.join(["python", *sys.argv]),
        "device": str(device),
        "hardware": hardware(device),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "load_before": _load(),
    }
    log(f"benchmark on {environment['hardware']} ({device}), commit {environment['git_commit']}")
    throughput = run_throughput(cfg, models, sizes, device, log)
    precision = resolve_precision(cfg.schedule.precision, device)
    first_conv = run_first_conv(cfg, sizes, device, precision, log)
    pooling = run_pooling(cfg, sizes, device, log)
    datagen = run_datagen(cfg, device, log)
    panels = run_panels(cfg, throughput, device, log)
    environment["load_after"] = _load()
    result = {
        "environment": environment,
        "setup": {
            "batch_size": cfg.schedule.batch_size,
            "lr": cfg.schedule.lr,
            "momentum": cfg.schedule.momentum,
            "packed_runs": t.packed_runs,
            "memory": memory_kind(device),
            "config": OmegaConf.to_container(cfg, resolve=True),
        },
        "notes": _notes(cfg, device),
        "throughput": throughput,
        "st_overhead": st_overhead(throughput),
        "first_conv": first_conv,
        "pooling": pooling,
        "datagen": datagen,
        "redraw_overhead": redraw_overhead(datagen, throughput),
        "panels": panels,
    }
    paths = write_outputs(result, cfg.out_dir)
    log("wrote " + " and ".join(str(p) for p in paths))
    return result


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _notes(cfg, device) -> list[str]:
    t = cfg.throughput
    timed = t.blocks * t.steps_per_block
    notes = [
        "Throughput uses synthetic uint8 images of the right shape (the step's cost does not "
        f"depend on pixel values), {t.n_images} resident images per size.",
        f"Each figure: median over {t.blocks} blocks of {t.steps_per_block} steps "
        f"({timed} timed steps) after {t.warmup} warm-up steps; the loops of one model "
        "alternate block by block so that load from other processes hits them alike.",
        "Trainer: TrainingData.train_batch (one gather from the resident uint8 tensor) + "
        "stn.train.step.sgd_step on PackedRuns, K=1 (a single run calls the functional model "
        "directly; packs of K>1 are vmapped), at the timed schedule's precision "
        f"(schedule {cfg.schedule.name}: precision={cfg.schedule.precision}; auto = bf16 "
        "autocast where the hardware has native bf16, stn/precision.py). When that is not "
        "fp32, 'fp32 trainer' is the same trainer forced to fp32, timed in the same "
        "alternation, so the share of the gain that bf16 brings shows.",
        "Reference (PyTorch STN tutorial style): DataLoader(shuffle=True, drop_last=True, "
        f"num_workers={t.reference_workers}) over a Dataset returning one sample at a time "
        "(uint8 -> float per sample), eager build_model module, fp32, SGD momentum, "
        "cross-entropy.",
        f"Packed: K={t.packed_runs} seeds in one vmapped step; images/s counts every run's "
        "images (K x batch per step).",
        "ST overhead: ST-CNN step time / CNN step time - 1, same batch and size. At 42 and 60 "
        "the ST output is pooled 2x before the classifier, and widths follow the parameter "
        "budget, so an ST-CNN can be cheaper than the CNN there.",
        "First-convolution input gradient: the backward-data pass of the classifier's first "
        "convolution (1 input channel, 9x9) at the ST-CNN Aff classifier's shape, PyTorch's "
        "convolution_backward against stn.conv.input_gradient (one product and 81 shifted "
        "adds), on the same gradient, alternating blocks; the trainer uses the latter on the "
        "CPU (stn.conv.FirstConv2d).",
        "2x average pooling (the ST output at 42 and 60 px, the ST-CNN localisation net's "
        "input at every size): the forward alone and forward + input gradient of a "
        "one-channel (batch, 1, size, size) fp32 image, torch.nn.functional.avg_pool2d "
        "against stn.pooling.average_pool (two matrix products), alternating blocks; the "
        "networks use the latter on the CPU.",
        f"Memory of a step: {memory_kind(device)}.",
        "CPU allocator: glibc keeps freed blocks in the process (stn/allocator.py), as in "
        "training. It applies to the whole process, the reference loop included, so the "
        "ratios compare the loops alone; it is not part of the trainer's advantage.",
        "Dataset generation: the project's batched generators on whole splits vs a per-sample "
        "loop over torchvision.transforms.v2.functional (rotate / pad+affine / perspective / "
        "TPS field + elastic / pad+crop) with the same drawn parameters, on the CPU with one "
        "torch thread (as in a DataLoader worker); the loop is timed on "
        f"{cfg.datagen.loop_samples} digits per dataset and extrapolated linearly. Each "
        f"figure: median of {cfg.datagen.repeats} repeats, the two sides alternating.",
        "Transformation panels (stn/train/panels.py, logged at every evaluation of an ST run): "
        f"TransformPanels.log itself, {cfg.panels.count} panels per 28 px ST model on a fresh "
        "model, logged to a real offline wandb run (stn.train.tracking.WandbRun) in a "
        "temporary folder: render, PNG encoding and wandb's copy into the run's media folder "
        "are timed, opening and finishing the run are not. The first panel also builds the "
        f"figure. A {cfg.panels.schedule.name} run's panel time (first + the others at the "
        "median) is set against its training steps: iterations x the trainer's step time "
        "above (at that schedule's precision where timed), scaled linearly to its batch; its "
        "wall time (start-up, evaluations, checkpoints) is longer, so the share of the wall "
        "time is smaller still.",
    ]
    if device.type == "cpu":
        notes.append(
            f"CPU: {os.cpu_count()} cores, {torch.get_num_threads()} torch threads "
            f"(threads={cfg.threads}), shared with other processes (see the load averages)."
        )
    return notes
