"""Where and with what a run was produced: device, hardware, commit, versions."""

from __future__ import annotations

import copy
import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def as_trained(cfg):
    """(a copy of cfg as its runs record it, the device): schedule.precision resolved on the
    device, not "auto", so anything interpolated from it (a runs_dir, say) reads as the
    trainer will write it. The trainer, the estimate and the sweep's progress line all
    find a run's folder through this."""
    from stn.precision import resolve_precision

    device = resolve_device(cfg.trainer.device)
    cfg = copy.deepcopy(cfg)
    cfg.schedule.precision = resolve_precision(cfg.schedule.precision, device)
    return cfg, device


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what platform says."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({torch.get_num_threads()} threads)"


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the code this process runs (read once: later edits don't count)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        # A copy without .git (the GPU machine): the commit its sender recorded, if any.
        return os.environ.get("STN_GIT_COMMIT", "unknown")
    return commit + ("-dirty" if dirty else "")


def versions() -> dict[str, str]:
    import hydra
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "hydra": hydra.__version__,
    }
