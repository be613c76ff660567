"""Sampling grids and the sampler: map each output pixel to a source location,
T_theta(x_t, y_t), and read the image there (:func:`bilinear_sample`).

One coordinate convention serves the whole project (the spatial transformer
and the dataset generators): normalised coordinates in [-1, 1] with
``align_corners=False``, i.e. pixel centres sit at (2i + 1) / size - 1, so the
image border is at +/-1. Mixing conventions is the most common reason an
"identity" transform fails to reproduce its input (docs/paper.md, pitfalls).

Every ``*_grid`` function returns a sampling grid of shape (N, H, W, 2) holding
(x, y) source coordinates, ready for :func:`bilinear_sample`. The
``*_map`` functions apply the same transforms to an arbitrary list of target
points, given as a grid_operator, so the grid modules (stn.generators) can
keep the target grid's operator as a buffer instead of rebuilding it every
step.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

ALIGN_CORNERS = False


def bilinear_sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample (N, C, H_in, W_in) images at an (N, H_out, W_out, 2) grid: the sampler of
    the spatial transformer and of the dataset generators.

    Points outside the image read 0, which is the background of raw [0, 1]
    MNIST: sample before normalising, never after (docs/paper.md, pitfalls).
    Differentiable in both the images and the grid.
    """
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="zeros", align_corners=ALIGN_CORNERS
    )

# Smallest |w'| the projective generator divides by. Far below any w' a sane
# homography produces in [-1, 1]^2, large enough that x'/w' stays finite: a
# clamped point lands ~1/PROJECTIVE_EPS image widths away, in the zero
# background, where the sampler's gradient is exactly zero.
PROJECTIVE_EPS = 1e-3


def base_grid(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Target pixel centres (x_t, y_t) as an (H, W, 2) tensor."""
    xs = (2 * torch.arange(width, device=device, dtype=dtype) + 1) / width - 1
    ys = (2 * torch.arange(height, device=device, dtype=dtype) + 1) / height - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((gx, gy), dim=-1)


def homogeneous_grid(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Target pixel centres as (H*W, 3) rows (x_t, y_t, 1), row-major."""
    points = base_grid(height, width, device=device, dtype=dtype).reshape(-1, 2)
    return F.pad(points, (0, 1), value=1.0)


def grid_operator(weights: torch.Tensor, coords_first: bool) -> torch.Tensor:
    """(T, P) weights W -> (2P, 2T) matrix O mapping flat parameters to T grid points.

    ``params.flatten(1) @ O`` is the (N, T * 2) flattening of the (N, T, 2)
    points sum_p W[t, p] * (x, y coefficients number p), for params laid out
    (N, 2, P) when ``coords_first`` (one row of P coefficients per output
    coordinate, as the rows of an affine matrix) or (N, P, 2) otherwise (one
    (x, y) pair per weight, as TPS control points). Half of O is zeros, but
    the points come out in grid_sample's interleaved (x, y) layout: computing
    (N, 2, T) and copying it to (N, T, 2) made the affine grid at 60x60 ~3x
    slower, forward + backward, on a CPU.
    """
    eye = torch.eye(2, dtype=weights.dtype, device=weights.device)
    pattern = "tp,cd->cptd" if coords_first else "tp,cd->pctd"
    n_points, n_weights = weights.shape
    return torch.einsum(pattern, weights, eye).reshape(2 * n_weights, 2 * n_points)


def affine_operator(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The (6, 2HW) grid_operator of the pixel centres, for the rows of 2x3 matrices."""
    return grid_operator(homogeneous_grid(height, width, device, dtype), coords_first=True)


def affine_map(theta: torch.Tensor, operator: torch.Tensor) -> torch.Tensor:
    """(N, 2, 3) matrices applied to the target points of ``operator`` -> (N, T, 2).

    ``operator`` is grid_operator(target, coords_first=True) of (T, 3)
    homogeneous target points (affine_operator for the pixel centres). A plain
    matmul rather than F.affine_grid: the same numbers for the same
    convention, and it has a vmap batching rule (affine_grid_generator has
    none, so the packed multi-seed trainer would fall back to a slow loop).
    """
    return (theta.flatten(1) @ operator).unflatten(1, (-1, 2))


# The functional grids below serve the dataset generators, which would otherwise build
# the same operator for every chunk, which at 42x42 took nearly as long as the map
# itself. Cached tensors are only read, never written.
_cached_affine_operator = lru_cache(maxsize=16)(affine_operator)


def affine_grid(theta: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Affine grid from (N, 2, 3) matrices: [x_s, y_s] = theta @ [x_t, y_t, 1]."""
    operator = _cached_affine_operator(*out_size, device=theta.device, dtype=theta.dtype)
    return affine_map(theta, operator).view(theta.shape[0], *out_size, 2)


# |1 / w'| <= _MAX_SCALE is |w'| >= PROJECTIVE_EPS.
_MAX_SCALE = 1.0 / PROJECTIVE_EPS


class _ProjectiveQuotient(torch.autograd.Function):
    """(x', y') / w' of the target points, with 1/w' clamped to +/-1/PROJECTIVE_EPS.

    Returns the (N, 2T) interleaved source points and the clamped 1/w' (saved, not
    differentiable). The gradient is 0 wherever the clamp acts (autograd of 1/w' would
    give -inf there, times the clamp's 0: NaN) and elsewhere that of x'/w'. One node
    instead of autograd's five: the reciprocal, the clamp and the product run in place
    on the matrix products' outputs, and the backward takes three passes over the (N, 2T)
    points (the quotient's gradient, its product with the output, and the clamp's mask
    as hardtanh_backward) where autograd took eight. At 60x60, forward + backward took
    ~1.5x less time on a CPU (the points are 7 MB per 256 images, so passes cost).
    """

    generate_vmap_rule = True  # plain torch ops: the packed trainer can vmap it

    @staticmethod
    def forward(h, operator):
        xy = h[:, :6] @ operator  # rows 1 and 2 of the homography: x', y'
        w_row = F.pad(h[:, 6:], (0, 1), value=1.0)  # row 3: w' = h6 x + h7 y + 1
        w = w_row.repeat(1, 2) @ operator  # beside each of x' and y'
        scale = F.hardtanh_(w.reciprocal_(), -_MAX_SCALE, _MAX_SCALE)
        return xy.mul_(scale), scale

    @staticmethod
    def setup_context(ctx, inputs, output):
        points, scale = output
        ctx.mark_non_differentiable(scale)
        ctx.save_for_backward(inputs[1], points, scale)

    @staticmethod
    def backward(ctx, grad, _):
        operator, points, scale = ctx.saved_tensors
        grad_xy = grad * scale  # d/d(x', y') of (x', y') * scale
        grad_affine = grad_xy @ operator.T
        # d/dw' = -grad * (x', y') * scale^2 = -(grad_xy * points), 0 where clamped (in
        # place: grad_xy is used up); both halves of w' (beside x' and beside y') come
        # from the same two parameters.
        grad_w = torch.ops.aten.hardtanh_backward(
            grad_xy.mul_(points), scale, -_MAX_SCALE, _MAX_SCALE) @ operator.T
        return torch.cat((grad_affine, -(grad_w[:, 0:2] + grad_w[:, 3:5])), dim=1), None


def projective_map(h: torch.Tensor, operator: torch.Tensor) -> torch.Tensor:
    """(N, 8) homographies (9th entry 1) applied to the target points of ``operator``.

    ``operator`` is affine_map's. The source location is (x'/w', y'/w'), with
    w' clamped away from zero on its own side (|w'| >= PROJECTIVE_EPS), so
    neither the grid nor its gradient can become inf/NaN; a clamped point
    lands far outside the image, where it reads background. w' is computed
    beside each of x' and y', so every op runs on same-shape contiguous
    tensors, which is faster than broadcasting one w' over each (x, y) pair.
    """
    points, _ = _ProjectiveQuotient.apply(h, operator)
    return points.unflatten(1, (-1, 2))


def projective_grid(h: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Projective grid from (N, 8) parameters; the 9th homography entry is 1."""
    operator = _cached_affine_operator(*out_size, device=h.device, dtype=h.dtype)
    return projective_map(h, operator).view(h.shape[0], *out_size, 2)


def tps_kernel(sq_dist: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Radial basis U(r) = r^2 log r^2, written in r^2 and defined as 0 at r = 0.

    ``out``: a buffer of sq_dist's shape to write U into (no temporaries; the same
    values), for callers that evaluate it block by block."""
    # Clamping r^2 = 0 to the smallest normal float gives U = 0 * log(tiny) = -0.0 there and
    # a finite gradient (log(tiny)); every r^2 this project meets is either exactly 0 or
    # far above tiny, so elsewhere it is r^2 * log(r^2) bit for bit. clamp_min is one fast
    # pass where torch.where with a scalar took 5x longer (E's redraw spends most of its
    # time here).
    tiny = torch.finfo(sq_dist.dtype).tiny
    if out is None:
        return sq_dist * torch.log(sq_dist.clamp_min(tiny))
    return torch.clamp_min(sq_dist, tiny, out=out).log_().mul_(sq_dist)


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., A, 2), (..., B, 2) -> (..., A, B) squared distances (leading dimensions
    broadcast), exactly 0 for equal points.

    torch.cdist switches to a matmul formula for more than 25 points, which
    leaves tiny non-zero r^2 at r = 0; the direct difference does not. x and y
    apart: no (..., A, B, 2) difference tensor is built, which is faster batched.
    """
    dx = a[..., :, None, 0] - b[..., None, :, 0]
    dy = a[..., :, None, 1] - b[..., None, :, 1]
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        return dx * dx + dy * dy
    # The same values in place: no temporaries, ~3x faster on E's 60k small systems.
    return dx.mul_(dx).add_(dy.mul_(dy))


def regular_control_points(grid_size: int = 4, dtype=torch.float32) -> torch.Tensor:
    """(grid_size^2, 2) control points on a regular grid spanning [-1, 1]^2, row-major."""
    ticks = torch.linspace(-1.0, 1.0, grid_size, dtype=dtype)
    gy, gx = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack((gx.reshape(-1), gy.reshape(-1)), dim=1)


def tps_system(points: torch.Tensor) -> torch.Tensor:
    """(..., K, 2) target control points P -> (..., K+3, K+3) float64 TPS system
    L = [[U(P, P), [1 P]], [[1 P]^T, 0]], whose solve of L [w; a] = [S; 0] gives the
    spline's coefficients (leading dimensions: one system per sample)."""
    p = points.to(torch.float64)
    k = p.shape[-2]
    affine_part = F.pad(p, (1, 0), value=1.0)  # rows (1, x, y)
    system = p.new_zeros(*p.shape[:-2], k + 3, k + 3)
    system[..., :k, :k] = tps_kernel(squared_distances(p, p))
    system[..., :k, k:] = affine_part
    system[..., k:, :k] = affine_part.transpose(-1, -2)
    return system


def tps_matrix(control_points: torch.Tensor, target_points: torch.Tensor) -> torch.Tensor:
    """(T, K) float64 matrix M such that the spline at the target points is M @ S.

    The spline f maps each target control point P_k to its source position S_k
    and is smooth in between. Its coefficients solve L [w; a] = [S; 0] with
    L = [[U(P, P), [1 P]], [[1 P]^T, 0]]. L depends only on the fixed control
    points, so it is solved once (in float64) and folded with the kernel row
    of every target point: the result is linear in S, for any batch of S.
    """
    points = control_points.to(torch.float64)
    target = target_points.to(torch.float64)
    k = points.shape[0]
    rhs = torch.eye(k + 3, k, dtype=torch.float64, device=points.device)
    coefficients = torch.linalg.solve(tps_system(points), rhs)  # (K+3, K): [w; a] = coeffs @ S
    rows = torch.cat(
        (tps_kernel(squared_distances(target, points)), F.pad(target, (1, 0), value=1.0)), dim=1
    )
    return rows @ coefficients


class TPSGrid(nn.Module):
    """Thin plate spline grid: a fixed linear map of the K source control points.

    ``forward(S)`` is ``M @ S`` with ``M = tps_matrix(P, pixel centres)``.
    Since a TPS reproduces affine maps exactly, ``M @ P`` is the target grid
    itself; the forward pass computes the same map as ``target + M @ (S - P)``
    (one addmm with M's grid_operator), so that the identity (S = P) is exact
    in float32 instead of carrying the rounding error of a 16-term sum.
    """

    def __init__(self, control_points: torch.Tensor, out_size: tuple[int, int]):
        super().__init__()
        device = control_points.device
        target = base_grid(*out_size, device=device, dtype=torch.float64).reshape(-1, 2)
        matrix = tps_matrix(control_points, target).to(torch.float32)
        self.out_size = tuple(out_size)
        # Functions of the control points and out_size alone: built with the module,
        # not stored in checkpoints.
        self.register_buffer(
            "control_points", control_points.to(torch.float32).flatten(), persistent=False
        )
        # The float32 pixel centres of base_grid, as the affine and projective
        # generators use: all three identities give the very same grid.
        self.register_buffer(
            "target", base_grid(*out_size, device=device).flatten(), persistent=False
        )
        self.register_buffer(
            "operator", grid_operator(matrix, coords_first=False), persistent=False
        )

    def forward(self, source_points: torch.Tensor) -> torch.Tensor:
        """(N, K, 2) source positions of the control points -> (N, H, W, 2) grid."""
        dtype = source_points.dtype  # .to is a no-op when the dtypes already match
        offsets = source_points.flatten(1) - self.control_points.to(dtype)
        grid = torch.addmm(self.target.to(dtype), offsets, self.operator.to(dtype))
        return grid.view(source_points.shape[0], *self.out_size, 2)
