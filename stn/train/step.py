"""One optimisation step of a pack of runs: the hot loop of training.

Kept apart from the loop's bookkeeping so the benchmark times exactly what
training runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stn.train.packed import PackedRuns


def sgd_step(packed: PackedRuns, optimizer: torch.optim.Optimizer, images, labels):
    """images (K, B, 1, H, W) in [0, 1], labels (K, B) -> per-run losses (K,), logits, theta.

    The summed loss gives each run exactly the gradient of its own mean loss.
    """
    logits, theta = packed.forward(images)
    k_runs = labels.shape[0]
    losses = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="none")
    losses = losses.view(k_runs, -1).mean(1)
    optimizer.zero_grad(set_to_none=True)
    losses.sum().backward()
    optimizer.step()
    return losses.detach(), logits.detach(), theta.detach()
