"""The bilinear sampler of the spatial transformer (and of the dataset generators)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stn.grids import ALIGN_CORNERS


def bilinear_sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample (N, C, H_in, W_in) images at an (N, H_out, W_out, 2) grid.

    Points outside the image read 0, which is the background of raw [0, 1]
    MNIST: sample before normalising, never after (docs/paper.md, pitfalls).
    Differentiable in both the images and the grid.
    """
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="zeros", align_corners=ALIGN_CORNERS
    )
