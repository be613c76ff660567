"""Grid generators: map each output pixel to a source location, T_theta(x_t, y_t).

One coordinate convention serves the whole project (the spatial transformer
and the dataset generators): normalised coordinates in [-1, 1] with
``align_corners=False``, i.e. pixel centres sit at (2i + 1) / size - 1, so the
image border is at +/-1. Mixing conventions is the most common reason an
"identity" transform fails to reproduce its input (PAPER.md, pitfalls).

Every generator returns a sampling grid of shape (N, H, W, 2) holding (x, y)
source coordinates, ready for :func:`stn.sampler.bilinear_sample`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ALIGN_CORNERS = False

# Smallest |w'| the projective generator divides by. Far below any w' a sane
# homography produces in [-1, 1]^2, large enough that x'/w' stays finite.
PROJECTIVE_EPS = 1e-3


def base_grid(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Target pixel centres (x_t, y_t) as an (H, W, 2) tensor."""
    xs = (2 * torch.arange(width, device=device, dtype=dtype) + 1) / width - 1
    ys = (2 * torch.arange(height, device=device, dtype=dtype) + 1) / height - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((gx, gy), dim=-1)


def affine_grid(theta: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Affine grid from (N, 2, 3) matrices: [x_s, y_s] = theta @ [x_t, y_t, 1]."""
    n = theta.shape[0]
    return F.affine_grid(theta, [n, 1, *out_size], align_corners=ALIGN_CORNERS)


def projective_grid(h: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Projective grid from (N, 8) parameters; the 9th homography entry is 1.

    The source location is (x'/w', y'/w'). Where |w'| < PROJECTIVE_EPS the
    denominator is clamped away from zero (keeping its sign), so neither the
    grid nor its gradient can become inf/NaN; grid points sent that far
    outside the image simply sample the zero background.
    """
    n = h.shape[0]
    matrix = torch.cat((h, h.new_ones(n, 1)), dim=1).view(n, 3, 3)
    target = base_grid(*out_size, device=h.device, dtype=h.dtype).reshape(-1, 2)
    homogeneous = torch.cat((target, target.new_ones(target.shape[0], 1)), dim=1)
    projected = homogeneous @ matrix.transpose(1, 2)  # (N, HW, 3)
    w = projected[..., 2:]
    sign = torch.where(w < 0, -1.0, 1.0).to(w.dtype)
    w_safe = torch.where(w.abs() < PROJECTIVE_EPS, sign * PROJECTIVE_EPS, w)
    return (projected[..., :2] / w_safe).view(n, *out_size, 2)


def tps_kernel(sq_dist: torch.Tensor) -> torch.Tensor:
    """Radial basis U(r) = r^2 log r^2, written in r^2 and defined as 0 at r = 0."""
    safe = torch.where(sq_dist > 0, sq_dist, torch.ones_like(sq_dist))
    return torch.where(sq_dist > 0, sq_dist * torch.log(safe), torch.zeros_like(sq_dist))


def regular_control_points(grid_size: int = 4, dtype=torch.float32) -> torch.Tensor:
    """(grid_size^2, 2) control points on a regular grid spanning [-1, 1]^2, row-major."""
    ticks = torch.linspace(-1.0, 1.0, grid_size, dtype=dtype)
    gy, gx = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack((gx.reshape(-1), gy.reshape(-1)), dim=1)


class TPSGrid(nn.Module):
    """Thin plate spline grid: a fixed linear map of the K source control points.

    The spline f maps each target control point P_k to its source position S_k
    and is smooth in between. Its coefficients solve L [w; a] = [S; 0] with
    L = [[U(P, P), [1 P]], [[1 P]^T, 0]]. L depends only on the fixed target
    points, so it is inverted once here (in float64) and folded with the
    kernel row of every output pixel into one (H*W, K) matrix: the grid is then
    ``matrix @ S`` for any batch of predicted source points.
    """

    def __init__(self, control_points: torch.Tensor, out_size: tuple[int, int]):
        super().__init__()
        points = control_points.to(torch.float64)
        k = points.shape[0]
        affine_part = torch.cat((torch.ones(k, 1, dtype=torch.float64), points), dim=1)
        system = torch.zeros(k + 3, k + 3, dtype=torch.float64)
        system[:k, :k] = tps_kernel(torch.cdist(points, points) ** 2)
        system[:k, k:] = affine_part
        system[k:, :k] = affine_part.T
        coefficients = torch.linalg.inv(system)[:, :k]  # (K+3, K): [w; a] = coefficients @ S

        target = base_grid(*out_size, dtype=torch.float64).reshape(-1, 2)
        rows = torch.cat(
            (
                tps_kernel(torch.cdist(target, points) ** 2),
                torch.ones(target.shape[0], 1, dtype=torch.float64),
                target,
            ),
            dim=1,
        )
        self.out_size = tuple(out_size)
        self.register_buffer("control_points", control_points.to(torch.float32).clone())
        self.register_buffer("matrix", (rows @ coefficients).to(torch.float32))

    def forward(self, source_points: torch.Tensor) -> torch.Tensor:
        """(N, K, 2) source positions of the control points -> (N, H, W, 2) grid."""
        matrix = self.matrix.to(source_points.dtype)
        grid = torch.matmul(matrix, source_points)  # (N, HW, 2)
        return grid.view(source_points.shape[0], *self.out_size, 2)
