"""SGD and its learning-rate schedules: the paper's step schedule (Appendix A.4) and the
shapes a shorter schedule may need (schedule=fast, chosen on the validation split)."""

from __future__ import annotations

import math

import torch

SHAPES = ("step", "cosine", "linear")
# Parameters of the spatial transformer (localisation net and its regression layer): the
# ones schedule.loc_lr_scale applies to.
LOCALISATION_PREFIX = "spatial_transformer."


def learning_rate(schedule, iteration: int) -> float:
    """The lr of ``iteration`` (0-based), a pure function of it, so resuming needs no
    scheduler state.

    - ``step`` (the paper): base lr times lr_decay_factor every lr_decay_every iterations.
    - ``cosine``: half a cosine from the base lr to 0 at the last iteration.
    - ``linear``: a straight line from the base lr to 0 at the last iteration (with a
      warm-up, the lr shape of the one-cycle policy).

    ``warmup`` > 0 ramps the lr linearly up to the shape's value over the first ``warmup``
    iterations, and the decaying shapes start decaying after it.
    """
    if schedule.shape == "step":
        lr = schedule.lr * schedule.lr_decay_factor ** (iteration // schedule.lr_decay_every)
    else:
        span = max(schedule.iterations - 1 - schedule.warmup, 1)  # 0 at the last iteration
        done = min(max(iteration - schedule.warmup, 0) / span, 1.0)
        fraction = (1 + math.cos(math.pi * done)) / 2 if schedule.shape == "cosine" else 1 - done
        lr = schedule.lr * fraction
    if iteration < schedule.warmup:
        lr *= (iteration + 1) / schedule.warmup
    return lr


def make_optimizer(params: dict[str, torch.Tensor], schedule) -> torch.optim.SGD:
    """SGD over named parameters. The spatial transformer's parameters form a second group
    whose lr is scaled by schedule.loc_lr_scale (each group carries its ``lr_scale``)."""
    groups = []
    for scale, names in ((1.0, [n for n in params if not n.startswith(LOCALISATION_PREFIX)]),
                         (schedule.loc_lr_scale,
                          [n for n in params if n.startswith(LOCALISATION_PREFIX)])):
        if names:
            groups.append({"params": [params[n] for n in names], "lr_scale": scale,
                           "lr": schedule.lr * scale})
    return torch.optim.SGD(groups, lr=schedule.lr, momentum=schedule.momentum,
                           weight_decay=schedule.weight_decay)


def set_learning_rate(optimizer: torch.optim.SGD, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group["lr_scale"]


def momentum_slice(optimizer: torch.optim.SGD, params: dict[str, torch.Tensor], k: int) -> dict:
    """Run k's momentum buffers, by parameter name (empty before the first step)."""
    out = {}
    for name, param in params.items():
        buffer = optimizer.state.get(param, {}).get("momentum_buffer")
        if buffer is not None:
            out[name] = buffer[k].clone()
    return out


@torch.no_grad()
def load_momentum_slice(optimizer: torch.optim.SGD, params: dict[str, torch.Tensor], k: int,
                        state: dict):
    for name, param in params.items():
        if name not in state:
            continue
        slot = optimizer.state.setdefault(param, {})
        if slot.get("momentum_buffer") is None:
            slot["momentum_buffer"] = torch.zeros_like(param)
        slot["momentum_buffer"][k].copy_(state[name])
