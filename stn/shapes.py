"""Feature sizes of convolutional bodies, found by running them once."""

from __future__ import annotations

import torch
from torch import nn

from stn.errors import ConfigError


@torch.no_grad()
def flat_features(body: nn.Module, in_shape: tuple[int, int, int], what: str) -> int:
    """Number of features a freshly built ``body`` gives for one (C, H, W) input.

    One probe forward on the default device (where the body was just built,
    the meta device included) gives the shape with no arithmetic of our own
    to keep in sync with the layers. Too small an input becomes a
    ConfigError naming the network and the size.
    """
    try:
        return int(body(torch.zeros(1, *in_shape)).flatten(1).shape[1])
    except RuntimeError as error:
        size = "x".join(str(s) for s in in_shape[1:])
        raise ConfigError(f"{what}: a {size} input is too small ({error})") from None
