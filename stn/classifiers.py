"""The two classification networks of Table 1, each with three weight layers.

Inputs are normalised images (N, C, H, W); outputs are (N, classes) logits.
The width arguments are the free choices the paper leaves open; stn.models
picks them to match a parameter budget.
"""

from __future__ import annotations

import torch
from torch import nn

from stn.conv import FirstConv2d
from stn.shapes import flat_features


class FCN(nn.Module):
    """Two hidden fully connected ReLU layers of ``hidden`` units, then the classifier.

    Both hidden layers have the same width (the paper gives no widths).
    """

    def __init__(self, in_shape: tuple[int, int, int], hidden: int, classes: int = 10):
        super().__init__()
        n_in = in_shape[0] * in_shape[1] * in_shape[2]
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(n_in, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN(nn.Module):
    """conv 9x9 -> max-pool 2 -> ReLU -> conv 7x7 -> max-pool 2 -> ReLU -> linear classifier.

    ``channels`` = (first conv, second conv). Convolutions are stride 1 with
    no padding, as in the paper. Pooling uses ceil_mode: the paper's 21x21
    ST output (RTS, 42 pooled by 2) gives 21 - 8 = 13, which floor-mode
    pooling turns into 6, too small for the 7x7 conv; ceil mode gives 7
    (-> 1x1). It changes nothing at 28 and 60 (even sizes throughout) and
    keeps one border row/column at 42 and 30. Sizes: 28 -> 2x2, 42 -> 6x6,
    60 -> 10x10, 21 -> 1x1, 30 -> 3x3 before the classifier.
    """

    def __init__(
        self, in_shape: tuple[int, int, int], channels: tuple[int, int], classes: int = 10
    ):
        super().__init__()
        self.features = nn.Sequential(
            # Max-pool before ReLU: the same values and gradients as ReLU then pool
            # (ReLU is monotonic), with the ReLU on 4x fewer elements.
            # One input channel (every network here): the CPU input gradient of
            # stn.conv, which an ST-CNN needs (its input is the ST output).
            FirstConv2d(channels[0], 9) if in_shape[0] == 1
            else nn.Conv2d(in_shape[0], channels[0], 9),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.ReLU(),
            nn.Conv2d(channels[0], channels[1], 7),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.ReLU(),
            nn.Flatten(),
        )
        n_in = flat_features(self.features, in_shape, "CNN classifier")
        self.classifier = nn.Linear(n_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
