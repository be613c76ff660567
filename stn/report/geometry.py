"""What a spatial transformer's sampling grid says about the distortion it undoes.

Conventions (the project's, stn/grids.py): normalised coordinates in [-1, 1]
with align_corners=False, x to the right, y down. A grid holds, for each
output pixel, the input location it samples: output -> input.

The datasets record the *forward* distortion: the digit is rotated by
``angle`` degrees counter-clockwise as displayed, scaled by ``scale`` and its
centre moved by (tx, ty) pixels (stn/data/warps.py). To undo it, the ST must
map its output to the input by that same forward map (up to a fixed pose of
its own choosing), so a perfect undistortion reads back as rotation +angle,
scale proportional to ``scale`` and translation (tx, ty). tests/test_report.py
checks these signs on an image: the dataset's own renderer distorts a digit
and the grid built from the forward map restores it.
"""

from __future__ import annotations

import math

import torch

from stn.grids import base_grid


def fit_affine(grid: torch.Tensor) -> torch.Tensor:
    """Least-squares (N, 2, 3) affine map output -> input closest to an (N, H, W, 2) grid.

    Exact for an affine transformer; for Proj and TPS it is the best global
    affine summary of a non-affine warp.
    """
    n, height, width, _ = grid.shape
    target = base_grid(height, width, dtype=torch.float64).reshape(-1, 2)
    design = torch.cat((target, torch.ones(len(target), 1, dtype=torch.float64)), dim=1)
    source = grid.reshape(n, -1, 2).to(torch.float64)
    solution = torch.linalg.lstsq(design.expand(n, -1, -1), source).solution  # (N, 3, 2)
    return solution.transpose(1, 2).to(grid.dtype)


def similarity_parts(affine: torch.Tensor, input_size: int) -> dict[str, torch.Tensor]:
    """Rotation (degrees, counter-clockwise as displayed), scale and translation (input
    pixels from the centre) of the similarity transform closest to each affine map.

    For the linear part L = s [[cos a, sin a], [-sin a, cos a]] (the forward
    rotation by +a on a y-down image), L01 - L10 = 2 s sin a and
    L00 + L11 = 2 s cos a; shear and anisotropy average out.
    """
    linear = affine[:, :, :2]
    sin_part = linear[:, 0, 1] - linear[:, 1, 0]
    cos_part = linear[:, 0, 0] + linear[:, 1, 1]
    return {
        "angle": torch.rad2deg(torch.atan2(sin_part, cos_part)),
        "scale": torch.hypot(sin_part, cos_part) / 2,
        "tx": affine[:, 0, 2] * input_size / 2,
        "ty": affine[:, 1, 2] * input_size / 2,
    }


def forward_similarity(angle: float, scale: float, tx: float, ty: float, size: int) -> torch.Tensor:
    """(1, 2, 3) map output -> input that redraws a digit distorted by (angle, scale,
    tx, ty) of a size x size canvas upright, at scale 1 and centred: what a perfect
    undistorting affine ST would regress (used to check the signs above)."""
    a = math.radians(angle)
    linear = scale * torch.tensor([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    shift = torch.tensor([[tx], [ty]]) * 2 / size
    return torch.cat((linear, shift), dim=1)[None]


def grid_to_pixels(grid: torch.Tensor, size: int) -> torch.Tensor:
    """Normalised coordinates -> pixel coordinates of imshow (pixel centres at integers)."""
    return (grid + 1) * size / 2 - 0.5
