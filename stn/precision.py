"""Numeric precision of training: bf16 autocast where the hardware runs bf16 natively.

Under bf16 autocast, convolutions and matrix products take bf16 inputs and
accumulate in fp32; weights, gradients, optimiser state and the loss stay
fp32, and the spatial transformer computes its transform, grid and sampling
in fp32 (stn.transformer). ``auto`` picks bf16 on a CUDA GPU with bf16 and on
a CPU with AVX512-BF16 or AMX, fp32 elsewhere (where bf16 would be emulated
and slower). The resolved value is what a run's config.yaml records.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """True when ``device`` computes bf16 products in hardware."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private in torch.cpu
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return False


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` or ``fp32`` for this device; ``fp32`` and ``bf16`` as given."""
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return requested


def autocast(precision: str, device_type: str):
    """The context a forward pass runs in: bf16 autocast, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
