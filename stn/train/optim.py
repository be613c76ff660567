"""SGD and the step learning-rate schedule of the paper (Appendix A.4)."""

from __future__ import annotations

import torch


def learning_rate(schedule, iteration: int) -> float:
    """Base lr divided by 1/lr_decay_factor every lr_decay_every iterations.

    A pure function of the iteration, so resuming needs no scheduler state.
    """
    return schedule.lr * schedule.lr_decay_factor ** (iteration // schedule.lr_decay_every)


def make_optimizer(params: list[torch.Tensor], schedule) -> torch.optim.SGD:
    return torch.optim.SGD(
        params, lr=schedule.lr, momentum=schedule.momentum, weight_decay=schedule.weight_decay
    )


def momentum_slice(optimizer: torch.optim.SGD, names: list[str], k: int) -> dict:
    """Run k's momentum buffers, by parameter name (empty before the first step)."""
    out = {}
    for name, param in zip(names, optimizer.param_groups[0]["params"], strict=True):
        buffer = optimizer.state.get(param, {}).get("momentum_buffer")
        if buffer is not None:
            out[name] = buffer[k].clone()
    return out


@torch.no_grad()
def load_momentum_slice(optimizer: torch.optim.SGD, names: list[str], k: int, state: dict):
    for name, param in zip(names, optimizer.param_groups[0]["params"], strict=True):
        if name not in state:
            continue
        slot = optimizer.state.setdefault(param, {})
        if slot.get("momentum_buffer") is None:
            slot["momentum_buffer"] = torch.zeros_like(param)
        slot["momentum_buffer"][k].copy_(state[name])
