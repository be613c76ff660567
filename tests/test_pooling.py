"""stn.pooling: average pooling as two matrix products equals avg_pool2d."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import vmap

from stn.pooling import AveragePool, average_pool

# Both sum the same fp32 values, in another order and with the 1/factor applied per
# axis instead of once: they differ by float rounding only.
TOLERANCE = dict(rtol=1e-6, atol=1e-6)


def _images(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "shape, factor",
    [((4, 1, 60, 60), 2), ((4, 1, 42, 42), 2), ((4, 1, 21, 21), 2), ((4, 1, 28, 28), 2),
     ((4, 1, 9, 9), 3), ((2, 3, 7, 10), 2)],  # non-square, several channels: no H/W mix-up
)
def test_values_and_input_gradient_equal_avg_pool2d(shape, factor):
    x = _images(*shape).requires_grad_()
    grad_out = _images(*shape[:2], shape[2] // factor, shape[3] // factor)
    expected = F.avg_pool2d(x, factor)  # odd sizes: floor mode, the last row/column dropped
    ours = average_pool(x, factor)
    torch.testing.assert_close(ours, expected, **TOLERANCE)
    (grad_expected,) = torch.autograd.grad(expected, x, grad_out)
    (grad_ours,) = torch.autograd.grad(ours, x, grad_out)
    torch.testing.assert_close(grad_ours, grad_expected, **TOLERANCE)


def test_under_vmap_each_run_is_pooled_alone():
    x = _images(3, 5, 1, 42, 42)
    batched = vmap(lambda images: average_pool(images, 2))(x)
    for k in range(3):
        torch.testing.assert_close(batched[k], F.avg_pool2d(x[k], 2), **TOLERANCE)


def test_bf16_autocast_keeps_the_images_in_fp32():
    x = _images(2, 1, 60, 60)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pooled = AveragePool(2)(x)
    assert pooled.dtype == torch.float32
    torch.testing.assert_close(pooled, F.avg_pool2d(x, 2), **TOLERANCE)


def test_module_has_no_state():
    assert AveragePool(2).state_dict() == {}


def test_a_pool_run_under_inference_mode_leaves_training_unharmed():
    with torch.inference_mode():
        average_pool(_images(2, 1, 42, 42), 2)
    x = _images(2, 1, 42, 42).requires_grad_()
    average_pool(x, 2).sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 0.25))


def test_too_small_an_image_is_an_error_as_in_avg_pool2d():
    with pytest.raises(RuntimeError, match="too small"):
        average_pool(_images(1, 1, 1, 5), 2)


def test_factor_one_is_the_identity():
    x = _images(2, 1, 28, 28).requires_grad_()
    assert average_pool(x, 1) is x
