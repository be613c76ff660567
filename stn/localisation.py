"""Localisation nets of the paper: image -> feature vector for the regression layer.

These are the bodies only. The final regression layer, which must start at
the identity transform, belongs to :class:`stn.transformer.SpatialTransformer`
so that every localisation net, ours or a user's, gets the same
initialisation. Each body exposes ``out_features`` for that layer.
Inputs are whatever the caller feeds (our networks put stn.normalise.Normalise
in front); the widths are the paper's (Appendix A.4).
"""

from __future__ import annotations

import torch
from torch import nn

from stn.pooling import AveragePool
from stn.shapes import flat_features


class FCLocalisation(nn.Module):
    """ST-FCN: ``depth`` fully connected hidden layers of ``hidden`` ReLU units."""

    def __init__(self, in_shape: tuple[int, int, int], hidden: int = 32, depth: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        n_in = in_shape[0] * in_shape[1] * in_shape[2]
        for _ in range(depth):
            layers += [nn.Linear(n_in, hidden), nn.ReLU()]
            n_in = hidden
        self.net = nn.Sequential(*layers)
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvLocalisation(nn.Module):
    """ST-CNN: 2x average-pool, conv 5x5 -> max-pool 2 -> conv 5x5 -> FC, all ReLU.

    The paper says "on a 2x downsampled input" without the method; average
    pooling is the cheapest anti-aliased choice. Max-pool is floor mode
    (every size used here divides cleanly enough: 28 -> 14 -> 10 -> 5 -> 1,
    42 -> 21 -> 17 -> 8 -> 4, 60 -> 30 -> 26 -> 13 -> 9).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        filters: int = 20,
        kernel: int = 5,
        hidden: int = 20,
        downsample: int = 2,
    ):
        super().__init__()
        self.features = nn.Sequential(
            AveragePool(downsample),
            nn.Conv2d(in_shape[0], filters, kernel),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(filters, filters, kernel),
            nn.ReLU(),
            nn.Flatten(),
        )
        n_in = flat_features(self.features, in_shape, "ST-CNN localisation net")
        self.fc = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU())
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))
