"""The networks' 2x average pooling: PyTorch's avg_pool2d against stn.pooling's.

Every ST network pools a one-channel image by 2: the ST output at 42 and 60 px
before the classifier (forward and input gradient), and the ST-CNN
localisation net's input at every size (forward only). Both sides run forward
plus the input gradient on the same tensors, in fp32 (the pool runs outside
autocast), at (batch, 1, size, size) for each image size; the maximum
difference is stated against the largest value, as a check that the two
agree to rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stn.bench.timing import measure_alternating
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

        def reference(x=x, grad_out=grad_out):
            return torch.autograd.grad(F.avg_pool2d(x, FACTOR), x, grad_out)[0]

        def ours(x=x, grad_out=grad_out):
            return torch.autograd.grad(average_pool(x, FACTOR), x, grad_out)[0]

        m = measure_alternating({"reference": reference, "ours": ours}, device, t.warmup,
                                t.blocks, t.steps_per_block)
        diffs = []
        for pair in ((F.avg_pool2d(x, FACTOR), average_pool(x, FACTOR)), (reference(), ours())):
            expected, got = (p.detach() for p in pair)
            diffs.append(((got - expected).abs().max() / expected.abs().max()).item())
        row = {
            "image_size": size, "input": [batch, 1, size, size],
            "reference_ms": 1000 * m["reference"]["step_s"], "ours_ms": 1000 * m["ours"]["step_s"],
            "max_diff_over_max": max(diffs),
        }
        row["speedup"] = row["reference_ms"] / row["ours_ms"]
        log(f"2x average pool {size}px (forward + input gradient): avg_pool2d "
            f"{row['reference_ms']:.1f} ms, stn.pooling {row['ours_ms']:.1f} ms")
        rows.append(row)
    return rows
