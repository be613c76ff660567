"""The five generators on a small slice: shapes, determinism, and that `params` really
describe the warp that produced each image (checked with independent maths)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from stn.data import distortions
from stn.data.distortions import distort, param_names
from stn.data.warps import tps_grid_moving_targets
from stn.errors import ConfigError
from stn.grids import affine_grid, base_grid, bilinear_sample, regular_control_points, tps_matrix

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "data"
NAMES = ("r", "rts", "p", "e", "tc")


def config(name: str, **changes) -> tuple[int, dict]:
    cfg = OmegaConf.load(CONFIGS / f"{name}.yaml")
    return cfg.image_size, {**OmegaConf.to_container(cfg.distortion), **changes}


def run(name, digits, seed=0, **changes):
    size, d = config(name, **changes)
    return distort(name, digits, torch.Generator().manual_seed(seed), size, d)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_determinism(name, digits):
    size, d = config(name)
    images, params = run(name, digits)
    assert images.shape == (len(digits), 1, size, size) and images.dtype == torch.uint8
    assert params.shape == (len(digits), len(param_names(name, d)))
    assert params.dtype == torch.float32
    assert images.float().mean() > 5  # digits are there, not a blank canvas
    again_images, again_params = run(name, digits)
    assert torch.equal(images, again_images) and torch.equal(params, again_params)
    other_images, other_params = run(name, digits, seed=1)
    assert not torch.equal(params, other_params) and not torch.equal(images, other_images)


@pytest.mark.parametrize(("name", "changes"), [*((n, {}) for n in NAMES),
                                               ("e", {"displace": "target"})])
def test_chunking_does_not_change_the_data(name, changes, digits, monkeypatch):
    # Parameters are drawn for the whole split before rendering in chunks (and E's
    # target reading splits each chunk again for its kernel: stn.data.warps._KERNEL_ROWS).
    images, params = run(name, digits, **changes)
    monkeypatch.setattr(distortions, "CHUNK", 50)
    chunked_images, chunked_params = run(name, digits, **changes)
    assert torch.equal(images, chunked_images) and torch.equal(params, chunked_params)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_same_data_on_gpu(name, digits):
    images, params = run(name, digits)
    gpu_images, gpu_params = run(name, digits.cuda())
    assert torch.equal(params, gpu_params.cpu())
    assert (images.int() - gpu_images.cpu().int()).abs().max() <= 1  # rounding ties only


def test_r_undoing_the_recorded_rotation_restores_the_digit(digits):
    images, params = run("r", digits)
    raw = images.float() / 255

    def undo(sign):  # grid output -> distorted image: the forward rotation (y down)
        a = torch.deg2rad(sign * params[:, 0])
        row0 = torch.stack((a.cos(), a.sin(), torch.zeros_like(a)), 1)
        row1 = torch.stack((-a.sin(), a.cos(), torch.zeros_like(a)), 1)
        grid = affine_grid(torch.stack((row0, row1), 1), (28, 28))
        return (bilinear_sample(raw, grid)[:, 0] - digits.float() / 255).abs().mean().item()

    assert undo(+1) < 0.03  # bilinear interpolation twice
    assert undo(-1) > 3 * undo(+1)  # the recorded sign is the one that undoes it


def centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    """(N, 2) (x, y) centre of mass in pixel-index coordinates (pixel centres at integers)."""
    weights = images.float().reshape(len(images), images.shape[-2], images.shape[-1])
    ys, xs = torch.meshgrid(
        torch.arange(weights.shape[1]), torch.arange(weights.shape[2]), indexing="ij"
    )
    mass = weights.sum((1, 2))
    return torch.stack(((weights * xs).sum((1, 2)), (weights * ys).sum((1, 2))), 1) / mass[:, None]


@pytest.mark.parametrize("placement", ["range", "fit"])
def test_rts_centre_of_mass_sits_where_the_params_put_it(digits, placement):
    images, params = run("rts", digits, placement=placement)
    angle, scale, shift = torch.deg2rad(params[:, 0]), params[:, 1], params[:, 2:4]
    offset = centre_of_mass(digits) - 13.5  # from the digit's centre, pixels
    c, s = angle.cos(), angle.sin()  # counter-clockwise on a y-down image
    rotated = torch.stack(
        (c * offset[:, 0] + s * offset[:, 1], -s * offset[:, 0] + c * offset[:, 1])
    )
    expected = 20.5 + shift + scale[:, None] * rotated.T
    error = (centre_of_mass(images) - expected).norm(dim=1)
    assert error.median() < 0.15 and error.max() < 0.6, error.max()
    room = 7 if placement == "range" else (42 - 28 * params[:, 1:2]) / 2  # translation or fit
    assert (params[:, 2:4].abs() <= room).all() and (params[:, 1] >= 0.7).all()


def ramp_read_back(name, seed, size=28, **changes):
    """Distort x- and y-ramp images: each output pixel's value then tells the source pixel
    coordinate it sampled (bilinear interpolation of a linear ramp is exact)."""
    coordinate = (torch.arange(28) + 0.5) * 255 / 28  # value = 255 * (x + 0.5) / 28
    ramp_x = coordinate.round().to(torch.uint8).expand(64, 28, 28)
    images_x, params = run(name, ramp_x, seed, **changes)
    images_y, params_y = run(name, ramp_x.transpose(1, 2), seed, **changes)
    assert torch.equal(params, params_y)  # the draws do not depend on the pixels
    read = torch.stack((images_x[:, 0], images_y[:, 0]), -1).double() * 28 / 255 - 0.5
    return read.numpy(), params.double().numpy()


def homography(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """3x3 matrix mapping 4 target points to 4 source points (pixel coordinates)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -x * u, -y * u], [0, 0, 0, x, y, 1, -x * v, -y * v]]
        rhs += [u, v]
    return np.append(np.linalg.solve(np.array(rows), np.array(rhs)), 1).reshape(3, 3)


@pytest.mark.parametrize("displace", ["source", "target"])
def test_p_recorded_corners_define_the_homography(displace):
    read, params = ramp_read_back("p", seed=3, displace=displace)
    corners = np.array([[-14, -14], [14, -14], [-14, 14], [14, 14]], dtype=float)  # tl tr bl br
    ys, xs = np.mgrid[0:28, 0:28]
    pixels = np.stack((xs, ys, np.ones_like(xs)), -1).reshape(-1, 3).astype(float)
    checked = 0
    for image, p in zip(read, params, strict=True):
        scale, offsets = p[0], p[1:].reshape(4, 2)
        if displace == "source":  # output corner c samples the digit at (c + offset) / scale
            target, source = corners, (corners + offsets) / scale
        else:  # the digit corner c lands at scale * c + offset
            target, source = scale * corners + offsets, corners
        # Corners are offsets from the centre; pixel-index coordinates put the centre at 13.5.
        projected = pixels @ homography(target + 13.5, source + 13.5).T
        expected = (projected[:, :2] / projected[:, 2:]).reshape(28, 28, 2)
        inside = (expected > 1).all(-1) & (expected < 26).all(-1)
        checked += inside.sum()
        assert np.abs(image - expected)[inside].max() < 0.25
    assert checked > 64 * 200


def bilinear_at(field: np.ndarray, x: float, y: float) -> np.ndarray:
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    fx, fy = x - x0, y - y0
    top = (1 - fx) * field[y0, x0] + fx * field[y0, x0 + 1]
    bottom = (1 - fx) * field[y0 + 1, x0] + fx * field[y0 + 1, x0 + 1]
    return (1 - fy) * top + fy * bottom


@pytest.mark.parametrize("displace", ["source", "target"])
def test_e_recorded_control_points_are_where_the_image_says(displace):
    read, params = ramp_read_back("e", seed=4, displace=displace)
    ticks = np.linspace(-14, 14, 4)  # the regular 4x4 grid spans the image, pixels
    grid = np.stack(np.meshgrid(ticks, ticks), -1).reshape(-1, 2)  # row-major, (x, y)
    inner = [5, 6, 9, 10]  # the control points away from the border
    errors = []
    for image, p in zip(read, params, strict=True):
        scale, offsets = p[0], p[1:].reshape(16, 2)
        for k in inner:
            if displace == "source":
                where, source = grid[k], (grid[k] + offsets[k]) / scale
            else:
                where, source = scale * grid[k] + offsets[k], grid[k]
            x, y = where + 13.5
            if 0 <= x < 27 and 0 <= y < 27:
                errors.append(np.abs(bilinear_at(image, x, y) - (source + 13.5)).max())
    # Reading the field between pixel centres is bilinear: small curvature error on top of
    # the ramp's rounding. A wrong sign or order of the offsets would be off by pixels.
    assert len(errors) > 200 and np.median(errors) < 0.1 and max(errors) < 0.4, max(errors)


def test_e_moving_target_grid_equals_the_spline_of_each_sample():
    # The batched, channel-first, separable build of the E "target" grid against the
    # plain per-sample spline (stn.grids.tps_matrix), both in float64. 40 samples: the
    # batch crosses a block boundary of the batched build.
    generator = torch.Generator().manual_seed(5)
    points = regular_control_points(4).double()
    target = 0.9 * points + 0.1 * torch.randn(40, 16, 2, generator=generator, dtype=torch.float64)
    source = points + 0.1 * torch.randn(40, 16, 2, generator=generator, dtype=torch.float64)
    grid = tps_grid_moving_targets(target, source, 28)
    pixels = base_grid(28, 28, dtype=torch.float64).reshape(-1, 2)
    for i in range(len(target)):
        expected = (tps_matrix(target[i], pixels) @ source[i]).view(28, 28, 2)
        torch.testing.assert_close(grid[i], expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("combine", ["max", "sum"])
def test_tc_rebuilt_from_params_pixel_for_pixel(digits, combine):
    images, params = run("tc", digits, combine=combine)
    pool = digits.numpy().astype(np.int64)
    for i, (image, p) in enumerate(zip(images[:, 0].numpy(), params.long().numpy(), strict=True)):
        canvas = np.zeros((60, 60), dtype=np.int64)
        merge = np.maximum if combine == "max" else np.add
        x, y = 16 + p[0], 16 + p[1]  # the digit box's top-left: centre offset from 30
        canvas[y : y + 28, x : x + 28] = merge(canvas[y : y + 28, x : x + 28], pool[i])
        for src, crop_x, crop_y, px, py in p[2:].reshape(6, 5):
            assert src != i and 0 <= src < len(pool)
            piece = pool[src, crop_y : crop_y + 6, crop_x : crop_x + 6]
            canvas[py : py + 6, px : px + 6] = merge(canvas[py : py + 6, px : px + 6], piece)
        assert np.array_equal(np.minimum(canvas, 255), image)
    assert params[:, :2].abs().max() <= 16


@pytest.mark.parametrize(
    ("name", "changes", "needle"),
    [
        ("r", {"angel": [0, 1]}, "valid keys: angle"),
        ("rts", {"scale": [1.2, 0.7]}, "scale must be [low, high]"),
        ("p", {"displace": "both"}, "displace must be one of ['source', 'target']"),
        ("e", {"sigma": -1.0}, "sigma must be >= 0"),
        ("tc", {"translation": [-20, 20]}, "keep it within [-16, 16]"),
        ("tc", {"combine": "add"}, "combine must be one of ['max', 'sum']"),
    ],
)
def test_bad_distortion_configs_fail_in_one_line(name, changes, needle, digits):
    with pytest.raises(ConfigError) as error:
        run(name, digits, **changes)
    assert needle in str(error.value) and "\n" not in str(error.value)


def test_missing_key_unknown_dataset_and_canvas():
    with pytest.raises(ConfigError, match="missing mandatory value: sigma"):
        distortions.checked_distortion(
            "p", 28, {"scale": [0.75, 1.0], "sigma_is": "std", "displace": "source"}
        )
    with pytest.raises(ConfigError, match="choose one of r, rts, p, e, tc"):
        distortions.checked_distortion("rotated", 28, {})
    with pytest.raises(ConfigError, match="image_size must be 28"):
        distortions.checked_distortion("e", 33, config("e")[1])
