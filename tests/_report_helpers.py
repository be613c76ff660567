"""Run folders in the trainer's format for the report tests (no training)."""

from __future__ import annotations

from pathlib import Path

import yaml

from stn.models import DEFAULT_BUDGET
from stn.report.build import write_report
from stn.train import run_folder


def write_run(
    root: Path,
    profile: str,
    data: str,
    model: str,
    seed: int,
    state: str,
    error: float | None = None,
    iterations: int = 10,
    data_cfg: dict | None = None,
    schedule: dict | None = None,
    final: dict | None = None,
) -> Path:
    """A run folder in the trainer's format; final.json only for state=complete, with
    ``final``'s keys replacing the defaults (wall_time_s, packed_runs, hardware, ...)."""
    folder = root / profile / data / model / f"seed={seed}"
    folder.mkdir(parents=True)
    schedule = schedule or {
        "name": profile,
        "iterations": iterations,
        "batch_size": 8,
        "lr": 0.01,
        "lr_decay_every": 5,
        "lr_decay_factor": 0.1,
        "weight_decay": 0.0,
    }
    config = {
        "paths": {},
        "data": data_cfg or {"name": data, "image_size": 28, "redraw_train": True},
        "model": {"name": model, "budget": DEFAULT_BUDGET},
        "schedule": schedule,
        "seed": seed,
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    status = "complete" if state == "complete" else state
    run_folder.write_status(
        folder,
        status,
        iterations if error is not None else 3,
        "loss is NaN" if state == "failed" else None,
    )
    run_folder.write_metrics(
        folder,
        [
            {
                "iteration": i,
                "lr": 0.01,
                "train_loss": 1.0 / i,
                "train_error": 50.0 / i,
                "test_error": 60.0 / i,
                "test_samples": 100,
            }
            for i in (5, 10)
        ],
    )
    if state == "complete":
        run_folder.atomic_write_json(
            folder / "final.json",
            {
                "data": data,
                "model": model,
                "seed": seed,
                "schedule": profile,
                "fingerprint": "0" * 16,
                "test_error": error,
                "test_samples": 10_000,
                "params": 1000,
                "iterations": iterations,
                "wall_time_s": 1.5,
                "device": "cpu",
                "hardware": "test CPU",
                "git_commit": "abc123",
                "versions": {},
                **(final or {}),
            },
        )
    return folder


def build(runs: Path, results: Path, **kwargs) -> list[Path]:
    kwargs.setdefault("figures", False)
    kwargs.setdefault("params", False)
    return write_report(runs, results, results / "data", **kwargs)
