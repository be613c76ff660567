"""Per-run checkpoints: everything needed to continue bit for bit.

A checkpoint holds the run's weights, its momentum buffers, the iteration,
the running sums of the current logging window, the metric rows so far, the
wall time spent and the torch RNG state. The learning rate and the data order
are pure functions of the iteration (see optim.learning_rate and
data.TrainingData.batch_indices), so they need no state of their own.

The checkpoint before the latest is kept as checkpoint.prev.pt: the runs of a
pack write their files one after another, so a kill between two of them leaves
the pack at two iterations, and the runs ahead step back one checkpoint to
resume together (stn.train.loop).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from stn.atomic import atomic_torch_save
from stn.errors import CheckpointError
from stn.train.run_folder import CHECKPOINT_FILE

FORMAT_VERSION = 1
PREVIOUS_FILE = "checkpoint.prev.pt"


def save_checkpoint(folder: Path, payload: dict[str, Any]) -> None:
    latest = folder / CHECKPOINT_FILE
    if latest.exists():
        os.replace(latest, folder / PREVIOUS_FILE)  # a kill right here leaves the previous one
    atomic_torch_save({"format": FORMAT_VERSION, **payload}, latest)


def load_checkpoint(
    folder: Path, expected_fingerprint: str, previous: bool = False
) -> dict[str, Any] | None:
    """The run's latest checkpoint (``previous``: the one before it), None if there is
    none; CheckpointError if unusable."""
    path = folder / (PREVIOUS_FILE if previous else CHECKPOINT_FILE)
    if not path.exists() and not previous:
        path = folder / PREVIOUS_FILE  # killed between the two renames of save_checkpoint
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(
            f"{path} cannot be read ({type(error).__name__}); delete it to restart the run"
        ) from error
    if state.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has an unknown format; delete it to restart the run")
    if state.get("fingerprint") != expected_fingerprint:
        raise CheckpointError(
            f"{path} was written by a different config (data/model/schedule/seed); "
            "use another paths.runs_dir or delete the run folder to start over"
        )
    return state


def check_resumable(path: Path, state: dict[str, Any], pack: int, device: str) -> None:
    """Refuse a resume that could not continue the run exactly: packed and alone runs,
    and CPU and GPU runs, round differently (tests/test_reliability.py measures it)."""
    was_pack, was_device = state.get("pack"), state.get("device")
    if was_pack is not None and was_pack != pack:
        raise CheckpointError(
            f"{path} was trained packed with {was_pack} seed(s), not {pack}: resume it with "
            f"trainer.n_seeds={was_pack} and the same first seed, or delete it to restart"
        )
    if was_device is not None and was_device != device:
        raise CheckpointError(
            f"{path} was trained on {was_device}, not {device}: resume it with "
            f"trainer.device={was_device}, or delete it to restart"
        )
