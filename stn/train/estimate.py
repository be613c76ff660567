"""What a sweep will cost on this device, said before it starts (scripts/estimate.py).

The step times are measured here and now, not taken from a table: a few steps of
the trainer's own step (stn.bench.throughput.TrainerLoop) for each distinct
(model, image size) of the sweep on synthetic images, packed as the sweep packs
its seeds, at the precision the profile resolves to; and one redraw of each
dataset's fresh distortions. A run costs iterations x step + epochs x redraw;
complete runs cost nothing, and a partly trained run only what is left (read
from its status). Jobs run side by side divide the total.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import torch
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from stn.bench.throughput import TrainerLoop, synthetic_data
from stn.bench.timing import synchronize
from stn.config import CONFIG_DIR, register_schemas
from stn.data.datasets import data_config, typed_data
from stn.data.distortions import distort
from stn.precision import resolve_precision
from stn.train import run_folder as rf
from stn.train.data import TrainingData
from stn.train.provenance import as_trained

REDRAW_DIGITS = 1024  # digits distorted to time one dataset's redraw
STEPS = 3  # timed steps per model and size: their median, so one disturbed step does not count
# torch's own thread count, taken at import before any profile sets its own: the threads
# of a job whose config leaves trainer.threads unset.
DEFAULT_THREADS = torch.get_num_threads()


@dataclass
class Cell:
    cfg: object  # one job's composed config
    runs_left: list[tuple[int, int]]  # (seed, iterations still to train)


def compose_sweep(argv: list[str]) -> tuple[list, int]:
    """(the composed config of every job of ``train.py -m <argv>``, the launcher's parallel
    jobs): the experiment's sweeper params (``experiment=table1``: every registered model
    and dataset) replaced key by key by the command line."""
    register_schemas()
    parsed = OverridesParser.create().parse_overrides(argv)
    first = [p.input_line if not p.is_sweep_override()
             else f"{p.key_or_group}={next(iter(p.sweep_string_iterator()))}" for p in parsed]
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        base = compose("train", overrides=first, return_hydra_config=True)
        params = base.hydra.sweeper.params
        params = {} if params is None else OmegaConf.to_container(params, resolve=True)
        jobs = int(base.hydra.launcher.get("n_jobs") or 1)
        return [compose("train", overrides=o) for o in sweep_overrides(argv, params)], jobs


def sweep_overrides(overrides: list[str], sweeper_params: dict) -> list[list[str]]:
    """The jobs of a multirun: the experiment's sweeper params, replaced key by key by
    the command line, expanded as Hydra's basic sweeper does (cartesian product)."""
    parser = OverridesParser.create()
    axes: dict[str, list[str]] = {}
    for key, value in sweeper_params.items():
        (parsed,) = parser.parse_overrides([f"{key}={value}"])
        axes[key] = _values(parsed)
    fixed = []
    for parsed in parser.parse_overrides(list(overrides)):
        if parsed.is_sweep_override():
            axes[parsed.key_or_group] = _values(parsed)
        elif parsed.key_or_group in axes:
            axes[parsed.key_or_group] = [parsed.get_value_element_as_str()]
        else:
            fixed.append(parsed.input_line)
    keys = list(axes)
    return [fixed + [f"{k}={v}" for k, v in zip(keys, combo, strict=True)]
            for combo in itertools.product(*(axes[k] for k in keys))]


def _values(parsed) -> list[str]:
    if parsed.is_sweep_override():
        return list(parsed.sweep_string_iterator())
    return [parsed.get_value_element_as_str()]


def remaining_runs(cfg) -> list[tuple[int, int]]:
    """(seed, iterations left) of each run of a job that is not complete."""
    left = []
    for seed, folder in rf.cell_runs(as_trained(cfg)[0]):
        if rf.read_final(folder) is not None:
            continue
        status = rf.read_status(folder) or {}
        done = int(status.get("iteration") or 0) if (folder / rf.CHECKPOINT_FILE).exists() else 0
        left.append((seed, max(cfg.schedule.iterations - done, 0)))
    return left


def step_seconds(model: str, image_size: int, budget: int, batch: int, n_runs: int,
                 precision: str, device, steps: int = STEPS) -> float:
    """Seconds of one trainer step of n_runs packed runs: the median of ``steps`` timed
    steps after one warm-up step."""
    images, labels = synthetic_data(batch, image_size)
    split = {"images": images, "labels": labels}
    data = TrainingData(split, split, batch, None, device)
    # cost only: make_optimizer reads these
    schedule = SimpleNamespace(lr=0.01, momentum=0.9, weight_decay=0.0, loc_lr_scale=1.0)
    loop = TrainerLoop(model, image_size, data, list(range(n_runs)), schedule, device,
                       precision, budget)
    loop.step()
    synchronize(device)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loop.step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def redraw_seconds_per_digit(data_cfg, device) -> float:
    """Seconds to draw fresh distortions of one training digit (0 for a fixed copy)."""
    typed = typed_data(data_cfg)
    if not typed.redraw_train:
        return 0.0
    digits = torch.randint(0, 256, (REDRAW_DIGITS, 28, 28), dtype=torch.uint8, device=device)
    start = time.perf_counter()
    distort(typed.name, digits, torch.Generator().manual_seed(0), typed.image_size,
            typed.distortion)
    return (time.perf_counter() - start) / REDRAW_DIGITS


def make_profile_runs(profile: str) -> tuple[int, int]:
    """(seeds per cell, parallel jobs) of ``make reproduce-mnist PROFILE=<profile>``: the
    Makefile's SEEDS and JOBS defaults (tests/test_estimate.py checks them against it)."""
    return (3, 1) if profile == "paper" else (1, 2)


# Overrides that make sets per profile; another profile's sweep replaces them with its own.
_PROFILE_KEYS = ("schedule", "trainer.n_seeds", "trainer.threads", "trainer.progress",
                 "hydra/launcher", "hydra.launcher.n_jobs")


def profile_sweep_argv(argv: list[str], profile: str) -> list[str]:
    """The overrides of ``make reproduce-mnist PROFILE=<profile>`` with this sweep's other
    overrides (its data, models, paths) kept."""
    seeds, jobs = make_profile_runs(profile)
    kept = [a for a in argv if a.split("=", 1)[0].lstrip("+~") not in _PROFILE_KEYS]
    parallel = [] if jobs == 1 else [
        "hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}", "trainer.threads=1",
        "trainer.progress=false"]
    return [*kept, f"schedule={profile}", f"trainer.n_seeds={seeds}", *parallel]


def all_runs(cfg) -> list[tuple[int, int]]:
    """(seed, iterations) of every run of a job, trained from scratch."""
    return [(seed, cfg.schedule.iterations) for seed, _ in rf.cell_runs(cfg)]


@dataclass
class Measured:
    """Step and redraw times measured so far, shared by the estimates of several profiles
    so that each is measured once (keyed by everything that sets it)."""
    steps: dict = field(default_factory=dict)
    redraws: dict = field(default_factory=dict)


def estimate(cells: list[Cell], device, train_digits: int = 60_000,
             measured: Measured | None = None) -> list[dict]:
    """One row per job with runs left: its measured step and redraw and its seconds."""
    measured = Measured() if measured is None else measured
    steps, redraws, rows = measured.steps, measured.redraws, []
    for cell in cells:
        if not cell.runs_left:
            continue
        cfg = cell.cfg
        s = cfg.schedule
        precision = resolve_precision(s.precision, device)
        key = (cfg.model.name, cfg.data.image_size, cfg.model.budget, s.batch_size,
               len(cell.runs_left), precision)
        threads = cfg.trainer.threads or DEFAULT_THREADS
        if (key, threads) not in steps:
            torch.set_num_threads(threads)
            steps[key, threads] = step_seconds(*key, device)
        step = steps[key, threads]
        data = json.dumps(data_config(cfg.data), sort_keys=True)  # readings differ in cost
        if data not in redraws:
            redraws[data] = redraw_seconds_per_digit(cfg.data, device)
        iterations = max(left for _, left in cell.runs_left)
        epochs = iterations * s.batch_size / train_digits
        seconds = iterations * step + epochs * train_digits * redraws[data]
        rows.append({"data": cfg.data.name, "model": cfg.model.name,
                     "runs": len(cell.runs_left), "iterations": iterations,
                     "precision": precision, "step_s": step, "seconds": seconds})
    return rows


def profile_cost(rows: list[dict], jobs: int) -> float:
    """Wall seconds of a sweep's rows with ``jobs`` jobs side by side."""
    return sum(r["seconds"] for r in rows) / max(jobs, 1)


def fit_label(seconds: float) -> str:
    if seconds <= 3600:
        return " (fits in an hour)"
    return " (fits in an evening)" if seconds <= 5 * 3600 else ""


def describe(rows: list[dict], n_runs: int, n_complete: int, jobs: int, device,
             profile: str, other_profiles: dict[str, dict]) -> str:
    """The estimate in a few lines. ``other_profiles``: name -> {"seconds", "seeds",
    "jobs", "precision"} of the whole table as ``make reproduce-mnist PROFILE=<name>``
    would train it from scratch, from step times measured the same way."""
    wall = profile_cost(rows, jobs)
    lines = [
        f"sweep ({profile}): {n_runs} runs, {n_complete} complete, "
        f"{sum(r['runs'] for r in rows)} to train; estimated {_duration(wall)} on this "
        f"device ({device.type}, {jobs} job{'s' if jobs > 1 else ''} at once; "
        f"step times measured just now){fit_label(wall)}",
    ]
    if rows:
        slow = max(rows, key=lambda r: r["seconds"])
        lines.append(f"  slowest job: {slow['data']}/{slow['model']} "
                     f"({slow['runs']} run{'s' if slow['runs'] > 1 else ''} packed), "
                     f"{_duration(slow['seconds'])}")
    for name, other in other_profiles.items():
        lines.append(
            f"  make reproduce-mnist PROFILE={name} ({other['seeds']} seed"
            f"{'s' if other['seeds'] > 1 else ''}, {other['jobs']} job"
            f"{'s' if other['jobs'] > 1 else ''}, {other['precision']}) over the same cells "
            f"from scratch: {_duration(other['seconds'])}{fit_label(other['seconds'])}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
