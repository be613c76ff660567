"""The on-disk layout of one run: runs/<data>/<model>/seed=<n>/.

    config.yaml     resolved config of the run
    status.json     {"status": running | stopped | complete | failed, "reason", "iteration"}
    metrics.csv     iteration, lr, train_loss, train_error, test_error, test_samples
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
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

CONFIG_FILE = "config.yaml"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.csv"
CHECKPOINT_FILE = "checkpoint.pt"
FINAL_FILE = "final.json"
METRICS_COLUMNS = ["iteration", "lr", "train_loss", "train_error", "test_error", "test_samples"]

# Config sections that decide a run's result. Paths, logging and trainer options
# (device, packing, checkpoint interval, time budget) do not, so changing them
# still resumes or skips the same run.
RESULT_SECTIONS = ("data", "model", "schedule", "seed")


def run_dir(runs_dir: str | Path, data: str, model: str, seed: int) -> Path:
    return Path(runs_dir) / data / model / f"seed={seed}"


def fingerprint(config: dict[str, Any]) -> str:
    """Hash of the result-deciding part of a resolved config (a plain dict)."""
    relevant = {key: config[key] for key in RESULT_SECTIONS}
    blob = json.dumps(relevant, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


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


def is_complete(folder: Path, expected_fingerprint: str | None = None) -> bool:
    final = read_final(folder)
    if final is None:
        return False
    return expected_fingerprint is None or final.get("fingerprint") == expected_fingerprint


def read_metrics(folder: Path) -> list[dict[str, str]]:
    path = folder / METRICS_FILE
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_metrics(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite metrics.csv whole (it is small), so it always matches a checkpoint."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=METRICS_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(folder / METRICS_FILE, out.getvalue())


def find_runs(runs_dir: str | Path) -> list[Path]:
    """Every run folder below runs_dir (complete or not)."""
    return sorted(p.parent for p in Path(runs_dir).glob(f"*/*/seed=*/{CONFIG_FILE}"))
