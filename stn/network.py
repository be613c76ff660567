"""One network of Table 1: [spatial transformer ->] [average pool ->] normalise -> classifier."""

from __future__ import annotations

import torch
from torch import nn

from stn.normalise import Normalise
from stn.transformer import SpatialTransformer


class Network(nn.Module):
    """Classifies raw [0, 1] images (N, 1, H, W), background 0.

    ``model(x)`` gives (N, 10) logits; ``model(x, return_theta=True)`` gives
    ``(logits, theta)`` with theta (N, n_params), or (N, 0) for the baselines,
    so the trainer can check any network's transform for NaN/inf alike.
    The ST (``model.spatial_transformer``, None for the baselines) samples the
    raw image, so its zero padding is background; normalisation comes after.
    The forward pass is pure (no in-place ops on inputs, no data-dependent
    Python branching), so it runs under torch.func.functional_call + vmap.
    """

    def __init__(
        self,
        classifier: nn.Module,
        spatial_transformer: SpatialTransformer | None = None,
        pool: int = 1,
    ):
        super().__init__()
        self.spatial_transformer = spatial_transformer
        self.pool = nn.AvgPool2d(pool) if pool > 1 else nn.Identity()
        self.normalise = Normalise()
        self.classifier = classifier

    def forward(self, x: torch.Tensor, return_theta: bool = False):
        if self.spatial_transformer is None:
            theta = x.new_zeros(x.shape[0], 0)
        else:
            x, theta = self.spatial_transformer(x)
        # Pooling before normalising equals pooling after: both are linear.
        logits = self.classifier(self.normalise(self.pool(x)))
        return (logits, theta) if return_theta else logits
