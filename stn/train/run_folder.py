"""The on-disk layout of one run: <runs_dir>/<data>/<model>/seed=<n>/.

(paths.runs_dir defaults to runs/<schedule>, so runs/quick/r/cnn/seed=0/.)

    config.yaml     resolved config of the run
    status.json     {"status": running | stopped | complete | failed, "reason", "iteration"}
    metrics.csv     iteration, lr, train_loss, train_error, test_error, test_samples
                    (val_error, val_samples instead for a data.validation run)
    checkpoint.pt   model, optimiser, iteration, RNG state (resumable)
    final.json      final metrics; written last, and only for a complete run
    wandb/          the offline wandb run (when logger=wandb)

final.json is the single mark of completion: the report counts a run only when
it exists. Every file is written atomically (temporary file, then rename), so
an interrupted write never leaves a half file that looks valid.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

from stn.atomic import atomic_write_json, atomic_write_text

CONFIG_FILE = "config.yaml"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.csv"
CHECKPOINT_FILE = "checkpoint.pt"
FINAL_FILE = "final.json"
# The small, human-readable files of a run (what the report archives and links).
RECORD_FILES = (FINAL_FILE, METRICS_FILE, CONFIG_FILE, STATUS_FILE)
METRICS_COLUMNS = ["iteration", "lr", "train_loss", "train_error", "test_error", "test_samples"]

# Config sections that decide a run's result. Paths, logging and trainer options
# (device, packing, checkpoint interval, time budget) do not, so changing them
# still resumes or skips the same run.
RESULT_SECTIONS = ("data", "model", "schedule", "seed")
# Result-deciding keys added after runs were recorded, at the value that reproduces the
# behaviour before they existed: left out of the hash at that value, so the runs recorded
# before them keep their fingerprint (and are skipped, not refused, by a re-run).
NEUTRAL_KEYS = {("schedule", "shape"): "step", ("schedule", "warmup"): 0,
                ("schedule", "loc_lr_scale"): 1.0}


def run_dir(runs_dir: str | Path, data: str, model: str, seed: int) -> Path:
    return Path(runs_dir) / data / model / f"seed={seed}"


def cell_runs(cfg) -> list[tuple[int, Path]]:
    """(seed, run folder) of each run of one job: seeds seed .. seed+n_seeds-1 of its
    (data, model) under paths.runs_dir."""
    return [(seed, run_dir(cfg.paths.runs_dir, cfg.data.name, cfg.model.name, seed))
            for seed in range(cfg.seed, cfg.seed + cfg.trainer.n_seeds)]


def fingerprint(config: dict[str, Any]) -> str:
    """Hash of the result-deciding part of a resolved config (a plain dict)."""
    relevant = {key: config[key] for key in RESULT_SECTIONS}
    for (section, key), neutral in NEUTRAL_KEYS.items():
        if relevant[section].get(key, neutral) == neutral:
            relevant[section] = {k: v for k, v in relevant[section].items() if k != key}
    blob = json.dumps(relevant, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):  # absent, unreadable or half-written: no record
        return None


def write_status(folder: Path, status: str, iteration: int, reason: str | None = None) -> None:
    atomic_write_json(
        folder / STATUS_FILE,
        {"status": status, "reason": reason, "iteration": iteration, "updated": time.time()},
    )


def read_status(folder: Path) -> dict[str, Any] | None:
    return read_json(folder / STATUS_FILE)


def read_final(folder: Path) -> dict[str, Any] | None:
    return read_json(folder / FINAL_FILE)


def read_metrics(folder: Path) -> list[dict[str, str]]:
    path = folder / METRICS_FILE
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_metrics(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite metrics.csv whole (it is small), so it always matches a checkpoint."""
    out = io.StringIO()
    # A validation run's rows name their error val_error (see stn/train/data.py).
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else METRICS_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(folder / METRICS_FILE, out.getvalue())


def copy_records(source: Path, target: Path) -> None:
    """The small record files of one run folder into ``target`` (made if missing); a
    record the source lacks is removed from the target, so the copy matches it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in RECORD_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
        else:
            (target / name).unlink(missing_ok=True)
