"""Warped MNIST (R, RTS, P, E): draw each sample's distortion, then render it.

Every renderer builds a sampling grid with the project's grid maths
(stn.grids, align_corners=False) and samples the digit's raw 0..255 values with
stn.grids.bilinear_sample (sample_digits), so zeros outside the digit are its
background.
Pixel offsets are measured on the output canvas, x to the right and y down;
angles are in degrees, positive = counter-clockwise as displayed.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from stn.grids import (
    TPSGrid,
    affine_grid,
    base_grid,
    bilinear_sample,
    projective_grid,
    regular_control_points,
    tps_kernel,
    tps_system,
)

DIGIT = 28  # MNIST digit side in pixels
HALF = DIGIT / 2  # pixels per normalised unit of the digit frame ([-1, 1] spans 28 px)
CORNERS = ("tl", "tr", "bl", "br")  # image corners, row-major like the TPS control points
# Their normalised positions (x, y), in that order: the points P moves.
CORNER_POINTS = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])


def uniform(n: int, bounds, generator: torch.Generator) -> torch.Tensor:
    low, high = (float(b) for b in bounds)
    return low + (high - low) * torch.rand(n, generator=generator)


def sample_digits(digits: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) digits sampled at an (N, H, W, 2) grid -> uint8 (N, 1, H, W).

    Sampling is linear, so the 0..255 values are sampled as they are (no scaling
    to [0, 1] and back); zero padding is the background. Bilinear weights are
    convex, so the rounded result is already within 0..255.
    """
    sampled = bilinear_sample(digits.unsqueeze(1).to(grid.dtype), grid)
    return sampled.round_().to(torch.uint8)


def similarity_theta(angle, scale, shift, out_size: int) -> torch.Tensor:
    """(N, 2, 3) affine_grid matrices for the forward map digit -> canvas.

    Forward: rotate by ``angle`` degrees and scale by ``scale`` about the digit
    centre, then put that centre at canvas centre + ``shift`` (N, 2) pixels.
    The grid needs the inverse, canvas -> digit, in each image's own
    normalised units: x_digit = (2/28) M^-1 (x_canvas * out/2 - shift).
    """
    radians = torch.deg2rad(angle)
    cos, sin = torch.cos(radians), torch.sin(radians)
    # M = scale * [[cos, sin], [-sin, cos]] turns counter-clockwise on a y-down image.
    inverse = torch.stack((torch.stack((cos, -sin), -1), torch.stack((sin, cos), -1)), -2)
    inverse = inverse / scale[:, None, None]
    offset = -(inverse @ shift.unsqueeze(-1)) / HALF
    return torch.cat((inverse * (out_size / DIGIT), offset), dim=-1)


# --- R: rotation only, digit centred ----------------------------------------------------------


def draw_r(n, generator, d, size):
    return uniform(n, d["angle"], generator)[:, None]


def render_r(digits, rows, params, d, size):
    angle = params[:, 0]
    theta = similarity_theta(angle, torch.ones_like(angle), params.new_zeros(len(angle), 2), size)
    return sample_digits(digits[rows], affine_grid(theta, (size, size)))


# --- RTS: rotation, scale, translation on a larger canvas -------------------------------------


PLACEMENTS = ("range", "fit")  # RTS: within `translation`, or anywhere the scaled box fits


def draw_rts(n, generator, d, size):
    angle = uniform(n, d["angle"], generator)
    scale = uniform(n, d["scale"], generator)
    if d["placement"] == "fit":
        # The scaled 28x28 box (side 28 * scale) anywhere inside the canvas, x and y
        # independently: the range shrinks as the digit grows (Torch demo stnbhwd's reading).
        room = (size - DIGIT * scale[:, None]) / 2
        shift = room * (2 * torch.rand(n, 2, generator=generator) - 1)
    else:
        shift = torch.stack([uniform(n, d["translation"], generator) for _ in "xy"], dim=1)
    return torch.cat((angle[:, None], scale[:, None], shift), dim=1)


def render_rts(digits, rows, params, d, size):
    theta = similarity_theta(params[:, 0], params[:, 1], params[:, 2:4], size)
    return sample_digits(digits[rows], affine_grid(theta, (size, size)))


# --- P and E: scale, then perturb points of a projective / TPS warp ---------------------------


def offset_std(d) -> float:
    """The offsets' standard deviation in pixels: the paper's N(0, sigma) read with sigma
    as the standard deviation ("std") or as the variance ("variance": std = sqrt(sigma))."""
    sigma = float(d["sigma"])
    return sigma if d["sigma_is"] == "std" else sigma ** 0.5


def draw_scaled_offsets(n, generator, d, n_points: int):
    scale = uniform(n, d["scale"], generator)
    offsets = offset_std(d) * torch.randn(n, 2 * n_points, generator=generator)
    return torch.cat((scale[:, None], offsets), dim=1)


def draw_p(n, generator, d, size):
    return draw_scaled_offsets(n, generator, d, len(CORNERS))


def draw_e(n, generator, d, size):
    return draw_scaled_offsets(n, generator, d, int(d["grid_size"]) ** 2)


def point_pairs(points, params, displace: str):
    """(target, source) positions, normalised, of the points a P/E warp interpolates.

    ``points`` are the regular positions in the digit frame; the offsets (pixels)
    move the source positions ("source": the output point p shows the digit at
    (p + offset) / scale) or the target positions ("target": the digit point p
    lands at scale * p + offset on the output).
    """
    n = params.shape[0]
    scale = params[:, 0, None, None]
    offsets = params[:, 1:].view(n, -1, 2) / HALF
    regular = points.to(params).expand(n, -1, -1)
    if displace == "source":
        return regular, (regular + offsets) / scale
    return scale * regular + offsets, regular


def homographies(target, source) -> torch.Tensor:
    """(N, 8) homographies mapping 4 target points to 4 source points (DLT, float64)."""
    x, y = target.double().unbind(-1)
    u, v = source.double().unbind(-1)
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack((x, y, one, zero, zero, zero, -x * u, -y * u), dim=-1)
    rows_v = torch.stack((zero, zero, zero, x, y, one, -x * v, -y * v), dim=-1)
    system = torch.cat((rows_u, rows_v), dim=1)  # (N, 8, 8)
    rhs = torch.cat((u, v), dim=1)
    return torch.linalg.solve(system, rhs).to(target.dtype)


def render_p(digits, rows, params, d, size):
    target, source = point_pairs(CORNER_POINTS, params, d["displace"])
    return sample_digits(digits[rows], projective_grid(homographies(target, source), (size, size)))


_KERNEL_ROWS = 32  # samples per kernel block: 32 x 16 x 784 floats (1.6 MB) fit in L2


def tps_grid_moving_targets(target, source, size: int) -> torch.Tensor:
    """TPS grid whose target points differ per sample: one (K+3)^2 solve per sample.

    TPSGrid folds a fixed target grid into one matrix; here the targets move,
    so the system L [w; a] = [S; 0] is solved for each sample in float64.
    The grid is built channel-first, (N, 2, HW) = a + A^T p + w^T U(p, t): the
    products then run along the 784 pixels, not along the 2 coordinates, which
    is ~3x faster for batched matmul on CPU. The pixel grid is separable (x by
    column, y by row), so |p - t|^2 = dx^2 + dy^2 is one broadcast add of a row
    and a column term per control point instead of five passes over HW x K.
    """
    n, k, _ = target.shape
    system = tps_system(target)  # (N, K+3, K+3) float64
    rhs = torch.cat((source.double(), system.new_zeros(n, 3, 2)), dim=1)
    coefficients = torch.linalg.solve(system, rhs).to(target.dtype).transpose(1, 2)  # (N, 2, K+3)
    weights, offset, linear = (
        coefficients[..., :k], coefficients[..., k:k + 1], coefficients[..., k + 1:]
    )
    pixels = base_grid(size, size, device=target.device, dtype=target.dtype).view(-1, 2)
    columns, rows_y = pixels[:size, 0], pixels[::size, 1]  # x of each column, y of each row
    grid = target.new_empty(n, 2, size * size)
    # r^2 and U(r) of a block go to two buffers reused by every block: a fresh tensor
    # per operation and block made the grid ~10% slower (the same values either way).
    block_sq_dist = target.new_empty(_KERNEL_ROWS, k, size, size)
    block_kernel = torch.empty_like(block_sq_dist)
    for start in range(0, n, _KERNEL_ROWS):
        block = slice(start, min(start + _KERNEL_ROWS, n))  # samples: views, not copies
        m = block.stop - start
        t = target[block].transpose(1, 2)  # (m, 2, K)
        dx = columns[None, None, :] - t[:, 0, :, None]  # (m, K, W)
        dy = rows_y[None, None, :] - t[:, 1, :, None]  # (m, K, H)
        sq_dist = torch.add((dy * dy)[..., :, None], (dx * dx)[..., None, :],
                            out=block_sq_dist[:m])
        kernel = tps_kernel(sq_dist, out=block_kernel[:m]).view(m, k, -1)
        affine = torch.baddbmm(offset[block], linear[block], pixels.T.expand(m, 2, -1))
        torch.baddbmm(affine, weights[block], kernel, out=grid[block])  # + w^T U
    return grid.transpose(1, 2).reshape(n, size, size, 2)


@lru_cache(maxsize=8)
def _fixed_tps(grid_size: int, size: int, device: torch.device) -> TPSGrid:
    return TPSGrid(regular_control_points(grid_size), (size, size)).to(device)


def render_e(digits, rows, params, d, size):
    grid_size = int(d["grid_size"])
    target, source = point_pairs(regular_control_points(grid_size), params, d["displace"])
    if d["displace"] == "source":
        # Fixed regular targets: the ST's own TPS parametrisation, built once per shape.
        grid = _fixed_tps(grid_size, size, params.device)(source)
    else:
        grid = tps_grid_moving_targets(target, source, size)
    return sample_digits(digits[rows], grid)


def names_r(d):
    return ["angle"]


def names_rts(d):
    return ["angle", "scale", "tx", "ty"]


def names_p(d):
    return ["scale"] + [f"{corner}_{axis}" for corner in CORNERS for axis in ("dx", "dy")]


def names_e(d):
    count = int(d["grid_size"]) ** 2
    return ["scale"] + [f"cp{k}_{axis}" for k in range(count) for axis in ("dx", "dy")]
