"""The grid maths: convention, gradients, TPS interpolation, projective guard."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from stn.generators import (
    AffineGridGenerator,
    ProjectiveGridGenerator,
    TPSGridGenerator,
    make_generator,
)
from stn.grids import (
    PROJECTIVE_EPS,
    affine_grid,
    affine_operator,
    base_grid,
    bilinear_sample,
    projective_grid,
    projective_map,
    regular_control_points,
    squared_distances,
    tps_kernel,
    tps_matrix,
)

OUT = (5, 6)  # small and non-square, so x/y or H/W mix-ups show


def test_affine_grid_matches_torch_affine_grid_convention():
    theta = torch.randn(3, 2, 3)
    expected = F.affine_grid(theta, [3, 1, *OUT], align_corners=False)
    torch.testing.assert_close(affine_grid(theta, OUT), expected)


@pytest.mark.parametrize("kind", ["aff", "proj", "tps"])
def test_identity_parameters_give_the_pixel_centres_exactly(kind):
    generator = make_generator(kind, (28, 28))
    grid = generator(generator.identity_params()[None])
    assert torch.equal(grid[0], base_grid(28, 28))


def _random_params(generator, scale=0.1):
    identity = generator.identity_params().double()
    return identity + scale * torch.randn(2, generator.n_params, dtype=torch.float64)


@pytest.mark.parametrize(
    "generator_class", [AffineGridGenerator, ProjectiveGridGenerator, TPSGridGenerator]
)
def test_gradcheck_grid_generators(generator_class):
    generator = generator_class(OUT).double()
    params = _random_params(generator).requires_grad_()
    assert torch.autograd.gradcheck(generator, (params,))


def test_gradcheck_sampler_wrt_images_and_grid():
    images = torch.rand(2, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    # Random points (never exactly on the pixel lattice, where bilinear
    # interpolation has kinks), some of them outside the image.
    grid = (2.4 * torch.rand(2, *OUT, 2, dtype=torch.float64) - 1.2).requires_grad_()
    assert torch.autograd.gradcheck(bilinear_sample, (images, grid))


def test_tps_kernel_is_zero_with_finite_gradient_at_r_zero():
    sq = torch.tensor([0.0, 0.25, 1.0, 4.0], dtype=torch.float64, requires_grad=True)
    u = tps_kernel(sq)
    expected = [0.0, 0.25 * math.log(0.25), 0.0, 4 * math.log(4)]
    torch.testing.assert_close(u, torch.tensor(expected, dtype=torch.float64))
    u.sum().backward()
    assert torch.isfinite(sq.grad).all()


def test_tps_kernel_into_a_buffer_gives_the_same_values():
    # E's moving-target grid writes U block by block into a reused buffer.
    sq = torch.cat((torch.zeros(3), 8 * torch.rand(997))).view(10, 100)
    out = torch.full_like(sq, float("nan"))
    assert tps_kernel(sq, out=out) is out
    assert torch.equal(out, tps_kernel(sq))


def test_squared_distances_are_exactly_zero_for_equal_points():
    points = torch.rand(40, 2)
    assert torch.all(squared_distances(points, points).diagonal() == 0)


def test_squared_distances_in_place_path_equals_the_differentiable_one():
    a, b = torch.rand(3, 7, 2), torch.rand(3, 5, 2)
    fast = squared_distances(a, b)  # no grad needed: computed in place
    a.requires_grad_()
    slow = squared_distances(a, b)
    assert torch.equal(fast, slow.detach())
    slow.sum().backward()  # the differentiable path keeps what backward needs
    torch.testing.assert_close(a.grad, 2 * (5 * a.detach() - b.sum(1, keepdim=True)))


def test_tps_passes_through_the_predicted_control_points():
    points = regular_control_points(4, dtype=torch.float64)
    source = points + 0.2 * torch.randn(3, 16, 2, dtype=torch.float64)
    at_control_points = tps_matrix(points, points) @ source
    torch.testing.assert_close(at_control_points, source, rtol=0, atol=1e-10)


def test_tps_grid_is_the_spline_at_the_pixel_centres():
    generator = TPSGridGenerator(OUT).double()
    params = _random_params(generator, scale=0.2)
    spline = tps_matrix(regular_control_points(4), base_grid(*OUT).reshape(-1, 2))
    expected = (spline @ params.view(2, 16, 2)).view(2, *OUT, 2)
    torch.testing.assert_close(generator(params), expected, rtol=0, atol=1e-6)


def test_tps_of_affinely_moved_control_points_is_the_affine_grid():
    theta = torch.eye(2, 3) + 0.2 * torch.randn(2, 2, 3)
    points = regular_control_points(4)
    source = F.pad(points, (0, 1), value=1.0) @ theta.transpose(1, 2)  # (2, 16, 2)
    tps_grid = TPSGridGenerator((28, 28))(source.flatten(1))
    torch.testing.assert_close(tps_grid, affine_grid(theta, (28, 28)), rtol=0, atol=1e-5)


def test_projective_with_last_row_001_is_affine():
    theta = torch.eye(2, 3) + 0.3 * torch.randn(4, 2, 3)
    h = torch.cat((theta.flatten(1), torch.zeros(4, 2)), dim=1)
    torch.testing.assert_close(projective_grid(h, OUT), affine_grid(theta, OUT))
    torch.testing.assert_close(ProjectiveGridGenerator(OUT)(h), affine_grid(theta, OUT))


def test_projective_denominator_at_or_near_zero_stays_finite():
    # w' = g x + 1 vanishes on the column of pixel centres at x0 (exactly or
    # nearly, after rounding), and just beside it for the other two rows.
    x0 = base_grid(*OUT)[0, 1, 0].item()
    h = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]).repeat(3, 1)
    h[:, 6] = torch.tensor([-1 / x0, -1 / x0 * (1 + 1e-6), -1 / x0 * (1 - 1e-4)])
    h.requires_grad_()
    images = torch.rand(3, 1, *OUT, requires_grad=True)
    grid = projective_grid(h, OUT)
    out = bilinear_sample(images, grid)
    assert torch.isfinite(grid).all() and torch.isfinite(out).all()
    # Where the clamp acts, the point is sent far outside the image: it reads background.
    assert grid[0, :, 1].abs().max() > 100 and (out[0, :, :, 1] == 0).all()
    (out.sum() + grid.sum()).backward()
    assert torch.isfinite(h.grad).all() and torch.isfinite(images.grad).all()


def test_projective_gradient_equals_autograd_of_the_clamped_quotient():
    # The hand-written backward against autograd of x'/w' with 1/w' clamped (float64),
    # clamped points included: there the reciprocal is a constant, so the gradient
    # flows through x' and y' only. w' = 1e-4 (clamped, yet finite for the reference)
    # on the column of pixel centres at x0 of the first homography.
    x0 = base_grid(*OUT, dtype=torch.float64)[0, 1, 0].item()
    h = torch.eye(3, dtype=torch.float64).flatten()[:8].repeat(3, 1)
    h += 0.05 * torch.randn(3, 8, dtype=torch.float64)
    h[0, 6:] = torch.tensor([(1e-4 - 1) / x0, 0.0])
    operator = affine_operator(*OUT, dtype=torch.float64)
    weights = torch.randn(3, OUT[0] * OUT[1], 2, dtype=torch.float64)

    def reference(h):
        xy = h[:, :6] @ operator
        w = F.pad(h[:, 6:], (0, 1), value=1.0).repeat(1, 2) @ operator
        scale = 1 / w
        clamped = scale.abs() > 1 / PROJECTIVE_EPS
        scale = torch.where(clamped, scale.sign().detach() / PROJECTIVE_EPS, scale)
        return (xy * scale).unflatten(1, (-1, 2)), clamped

    expected, clamped = reference(h)
    assert clamped[0].any() and not clamped[1:].any()
    grads = []
    for grid_of in (lambda h: reference(h)[0], lambda h: projective_map(h, operator)):
        params = h.clone().requires_grad_()
        grid = grid_of(params)
        (grid * weights).sum().backward()
        grads.append(params.grad)
        torch.testing.assert_close(grid.detach(), expected)
    torch.testing.assert_close(grads[1], grads[0])


def test_tps_buffers_follow_the_module_dtype():
    generator = TPSGridGenerator(OUT).double()
    assert generator.tps.operator.dtype == torch.float64
    assert generator(_random_params(generator)).dtype == torch.float64


def test_projective_gradient_under_vmap_matches_each_run():
    # The packed trainer vmaps the generators over runs, and the projective one
    # divides through a custom autograd.Function: check its generated vmap rule,
    # gradient included, with one point clamped (w' = 0 at x0) in the last run.
    generator = ProjectiveGridGenerator(OUT).double()
    h = _random_params(generator).repeat(3, 1, 1)  # (runs, batch, 8)
    h[:, 1] += 0.05 * torch.randn(3, 8, dtype=torch.float64)
    h[2, 0, 6:] = torch.tensor([-1 / base_grid(*OUT)[0, 1, 0].item(), 0.0])
    weights = torch.rand(*OUT, 2, dtype=torch.float64)

    def loss(params):
        return (generator(params) * weights).sum()

    grads = torch.func.vmap(torch.func.grad(loss))(h)
    for k in range(3):
        alone = h[k].clone().requires_grad_()
        loss(alone).backward()
        torch.testing.assert_close(grads[k], alone.grad)
    assert torch.isfinite(grads).all()
