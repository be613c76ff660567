"""The networks' 2x average pooling: PyTorch's avg_pool2d against stn.pooling's.

Every ST network pools a one-channel image by 2: the ST output at 42 and 60 px
before the classifier (forward and input gradient), and the ST-CNN
localisation net's input at every size (forward only). Both sides run on the
same tensors, in fp32 (the pool runs outside autocast), at (batch, 1, size,
size) for each image size: the forward alone, and forward plus the input
gradient. The maximum difference is stated against the largest value, as a
check that the two agree to rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stn.bench.timing import max_diff_over_max, measure_alternating
from stn.pooling import average_pool

FACTOR = 2


def run_pooling(cfg, sizes, device, log) -> list[dict]:
    t, batch = cfg.throughput, cfg.schedule.batch_size
    generator = torch.Generator().manual_seed(0)
    rows = []
    for size in sizes:
        x = torch.rand(batch, 1, size, size, generator=generator).to(device).requires_grad_()
        grad_out = torch.randn(batch, 1, size // FACTOR, size // FACTOR, generator=generator)
        grad_out = grad_out.to(device)

        @torch.no_grad()
        def reference_forward(x=x):
            return F.avg_pool2d(x, FACTOR)

        @torch.no_grad()
        def ours_forward(x=x):
            return average_pool(x, FACTOR)

        def reference(x=x, grad_out=grad_out):
            return torch.autograd.grad(F.avg_pool2d(x, FACTOR), x, grad_out)[0]

        def ours(x=x, grad_out=grad_out):
            return torch.autograd.grad(average_pool(x, FACTOR), x, grad_out)[0]

        steps = {"reference_forward": reference_forward, "ours_forward": ours_forward,
                 "reference": reference, "ours": ours}
        m = measure_alternating(steps, device, t.warmup, t.blocks, t.steps_per_block)
        pairs = ((reference_forward(), ours_forward()), (reference(), ours()))
        diff = max(max_diff_over_max(got, expected) for expected, got in pairs)
        row = {"image_size": size, "input": [batch, 1, size, size], "max_diff_over_max": diff}
        row.update({f"{name}_ms": 1000 * m[name]["step_s"] for name in steps})
        row["forward_speedup"] = row["reference_forward_ms"] / row["ours_forward_ms"]
        row["speedup"] = row["reference_ms"] / row["ours_ms"]
        log(f"2x average pool {size}px: forward avg_pool2d {row['reference_forward_ms']:.2f} ms, "
            f"stn.pooling {row['ours_forward_ms']:.2f} ms; forward + input gradient "
            f"{row['reference_ms']:.2f} ms, {row['ours_ms']:.2f} ms")
        rows.append(row)
    return rows
