"""The CNN's first-convolution input gradient: oneDNN's (or cuDNN's) against stn.conv's.

An ST-CNN needs the gradient of its classifier's first convolution with respect
to the ST output; on a CPU that backward-data pass was most of the ST-CNN's
extra step time. Both sides run on the same gradient tensor, in the dtype the
trainer's convolutions use on this device, at the ST-CNN Aff classifier's
shape for each image size; the maximum difference is stated against the
largest value, as a check that the two agree to rounding.
"""

from __future__ import annotations

import torch

from stn import registry
from stn.bench.timing import max_diff_over_max, measure_alternating
from stn.conv import input_gradient, pytorch_conv_backward
from stn.models import DEFAULT_BUDGET, ST_OUTPUT_POOL, width

MODEL = "st_cnn_aff"
KERNEL = 9


def run_first_conv(cfg, sizes, device, precision: str, log) -> list[dict]:
    t, batch = cfg.throughput, cfg.schedule.batch_size
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    generator = torch.Generator().manual_seed(0)
    rows = []
    for size in sizes:
        side = size // ST_OUTPUT_POOL[size]  # the classifier sees the pooled ST output
        channels = width(registry.model(MODEL), size, DEFAULT_BUDGET)
        out = side - KERNEL + 1
        x = torch.rand(batch, 1, side, side, generator=generator).to(device, dtype)
        weight = torch.randn(channels, 1, KERNEL, KERNEL, generator=generator)
        weight = weight.to(device, dtype).contiguous(memory_format=torch.channels_last)
        grad_out = torch.randn(batch, channels, out, out, generator=generator)
        grad_out = grad_out.to(device, dtype).contiguous(memory_format=torch.channels_last)

        def reference(x=x, weight=weight, grad_out=grad_out):
            return pytorch_conv_backward(grad_out, x, weight, (True, False, False))[0]

        def ours(weight=weight, grad_out=grad_out, side=side):
            return input_gradient(grad_out, weight, (side, side))

        m = measure_alternating({"reference": reference, "ours": ours}, device, t.warmup,
                                t.blocks, t.steps_per_block)
        row = {
            "image_size": size, "input": [batch, 1, side, side], "channels": channels,
            "dtype": str(dtype).removeprefix("torch."),
            "reference_ms": 1000 * m["reference"]["step_s"], "ours_ms": 1000 * m["ours"]["step_s"],
            "max_diff_over_max": max_diff_over_max(ours(), reference()),
        }
        row["speedup"] = row["reference_ms"] / row["ours_ms"]
        log(f"first conv input gradient {size}px ({side}x{side}, {channels} ch, {row['dtype']}):"
            f" reference {row['reference_ms']:.1f} ms, ours {row['ours_ms']:.1f} ms")
        rows.append(row)
    return rows
