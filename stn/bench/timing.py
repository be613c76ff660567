"""Clocks and peak memory that mean the same on a CPU and on a CUDA GPU, and the
agreement measure of a faster implementation with its reference.

Steps are timed in blocks with a device synchronisation at both ends only: a
sync per step would stall the GPU's queue and time something training never
does. Several loops are measured by alternating their blocks, so a burst of
load from other processes on a shared machine hits every loop alike, and each
figure is the median over blocks.
"""

from __future__ import annotations

import contextlib
import ctypes
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

MiB = 2**20


def max_diff_over_max(got: torch.Tensor, expected: torch.Tensor) -> float:
    """Largest absolute difference over the largest magnitude of ``expected`` (in fp32):
    how a faster implementation's result is checked against the reference it replaces."""
    got, expected = got.detach().float(), expected.detach().float()
    return ((got - expected).abs().max() / expected.abs().max()).item()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def memory_kind(device: torch.device) -> str:
    if device.type == "cuda":
        return "torch.cuda.max_memory_allocated during one step, minus memory_allocated before it"
    return ("peak RSS of the process during one step (VmHWM), minus its RSS before the step, "
            "after malloc_trim returned free heap pages to the OS")


def step_memory_mib(step: Callable[[], object], device: torch.device) -> dict[str, float | None]:
    """Working memory of one step (batch, activations, gradients, temporaries) and the
    peak of the whole process (CPU) or of all tensors (GPU) during it, in MiB.

    Measured on an untimed step: on a CPU, without malloc_trim the heap would keep
    the pages a previous loop freed and hide this loop's own peak.
    """
    if device.type == "cuda":
        synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        return {"step_memory_mib": (peak - before) / MiB, "peak_memory_mib": peak / MiB}
    with contextlib.suppress(OSError, AttributeError):  # not glibc: may underestimate
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := current RSS
        before = _proc_status_kib("VmRSS")
        step()
        peak = _proc_status_kib("VmHWM")
    except OSError:  # no /proc (not Linux): no per-step figure
        return {"step_memory_mib": None, "peak_memory_mib": None}
    return {"step_memory_mib": (peak - before) / 1024, "peak_memory_mib": peak / 1024}


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def measure_alternating(
    steps: dict[str, Callable[[], object]], device, warmup: int, blocks: int, steps_per_block: int
) -> dict[str, dict[str, float]]:
    """Median seconds per step of each named step function, then its memory."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    synchronize(device)
    seconds = {name: [] for name in steps}
    for _ in range(blocks):
        for name, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            for _ in range(steps_per_block):
                step()
            synchronize(device)
            seconds[name].append((time.perf_counter() - start) / steps_per_block)
    return {
        name: {
            "step_s": statistics.median(times),
            "step_s_min": min(times),
            "step_s_max": max(times),
            **step_memory_mib(steps[name], device),
        }
        for name, times in seconds.items()
    }
