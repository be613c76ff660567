"""Grid generator modules: (N, n_params) transform parameters -> (N, H, W, 2) grid.

Thin nn.Module wrappers over the functional maths of stn.grids. Each fixes
its output size at construction, keeps the linear map from its parameters to
the target pixel centres (for TPS, through the solved spline) as a buffer, so
it follows ``.to(device)`` and is never rebuilt in the training loop, and
states how many parameters it takes and which parameter vector is the
identity transform (what the localisation regression layer is initialised to).
"""

from __future__ import annotations

import torch
from torch import nn

from stn.errors import ConfigError
from stn.grids import (
    TPSGrid,
    affine_map,
    affine_operator,
    projective_map,
    regular_control_points,
)


class GridGenerator(nn.Module):
    """Base class. Subclasses set ``n_params`` and implement ``forward``."""

    n_params: int

    def __init__(self, out_size: tuple[int, int]):
        super().__init__()
        self.out_size = (int(out_size[0]), int(out_size[1]))

    def identity_params(self) -> torch.Tensor:
        """(n_params,) float32 parameters of the identity transform."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"out_size={self.out_size}, n_params={self.n_params}"

    def _as_grid(self, points: torch.Tensor) -> torch.Tensor:
        return points.view(points.shape[0], *self.out_size, 2)


class _PixelCentreGenerator(GridGenerator):
    """Shared by the affine and projective generators: the target pixel centres'
    affine_operator as a buffer (derived from out_size, so not in checkpoints)."""

    def __init__(self, out_size: tuple[int, int]):
        super().__init__(out_size)
        self.register_buffer("operator", affine_operator(*self.out_size), persistent=False)


class AffineGridGenerator(_PixelCentreGenerator):
    """6 parameters, the rows of the 2x3 matrix: x_s = a x_t + b y_t + c, y_s = d x_t + ..."""

    n_params = 6

    def identity_params(self) -> torch.Tensor:
        return torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return self._as_grid(affine_map(params.unflatten(1, (2, 3)), self.operator))


class ProjectiveGridGenerator(_PixelCentreGenerator):
    """8 parameters, the 3x3 homography row-major with its last entry fixed to 1."""

    n_params = 8

    def identity_params(self) -> torch.Tensor:
        return torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return self._as_grid(projective_map(params, self.operator))


class TPSGridGenerator(GridGenerator):
    """2 K parameters: the source (x, y) of K control points on a regular grid.

    The paper's 16 points on a 4x4 grid; they span [-1, 1]^2, i.e. the
    corner points sit on the image corners (the paper does not say where).
    Parameters are interleaved (x_0, y_0, x_1, y_1, ...), row-major points.
    """

    def __init__(self, out_size: tuple[int, int], grid_size: int = 4):
        super().__init__(out_size)
        self.grid_size = grid_size
        self.tps = TPSGrid(regular_control_points(grid_size), self.out_size)
        self.n_params = 2 * grid_size**2

    def identity_params(self) -> torch.Tensor:
        return regular_control_points(self.grid_size).flatten()

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return self.tps(params.unflatten(1, (-1, 2)))


GENERATORS: dict[str, type[GridGenerator]] = {
    "aff": AffineGridGenerator,
    "proj": ProjectiveGridGenerator,
    "tps": TPSGridGenerator,
}


def make_generator(kind: str, out_size: tuple[int, int]) -> GridGenerator:
    """The grid generator named ``kind`` (aff | proj | tps) for the given output size."""
    if kind not in GENERATORS:
        raise ConfigError(f"unknown transform {kind!r}; choose one of: {', '.join(GENERATORS)}")
    return GENERATORS[kind](out_size)
