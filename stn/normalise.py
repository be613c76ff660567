"""Fixed input normalisation, applied after the spatial transformer samples.

The ST samples raw [0, 1] images so that its zero padding equals the
background. Sampling a normalised image would pad with 0 while the background
inside the image reads -0.42, drawing a frame the classifier can see
(docs/paper.md, pitfalls). So networks normalise at the input of the localisation
net and of the classifier, never before sampling.
"""

from __future__ import annotations

import torch
from torch import nn

# Mean and std of the undistorted MNIST training pixels (the usual constants).
# Kept fixed for every dataset: a constant shift and scale, not a learned layer.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


class Normalise(nn.Module):
    """(x - mean) / std with constant mean and std (no parameters, no buffers)."""

    def __init__(self, mean: float = MNIST_MEAN, std: float = MNIST_STD):
        super().__init__()
        self.mean = mean
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"
