"""stn.conv: the first convolution's faster input gradient equals PyTorch's convolution."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import grad, vmap

from stn.classifiers import CNN
from stn.conv import FirstConv2d, input_gradient, single_channel_conv2d

# fp32: the two sum the same products in another order. bf16: the reference's gradient is
# rounded to bf16 (relative step 2^-8), ours is summed in fp32 and then rounded.
TOLERANCE = {"fp32": 1e-5, "bf16": 8e-3}


def _inputs(k_runs=None, n=6, channels=5, size=28, kernel=9):
    g = torch.Generator().manual_seed(0)
    lead = () if k_runs is None else (k_runs,)
    x = torch.rand(*lead, n, 1, size, size, generator=g)
    weight = torch.randn(*lead, channels, 1, kernel, kernel, generator=g)
    bias = torch.randn(*lead, channels, generator=g)
    out = size - kernel + 1
    grad_out = torch.randn(*lead, n, channels, out, out, generator=g)
    return x, weight, bias, grad_out


def _gradients(conv, x, weight, bias, grad_out, precision):
    x, weight, bias = (t.clone().requires_grad_() for t in (x, weight, bias))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        y = conv(x, weight, bias)
    grads = torch.autograd.grad((y.float() * grad_out).sum(), (x, weight, bias))
    return y, grads


def _close(a, b, tol):
    assert a.dtype == b.dtype and a.shape == b.shape
    scale = b.float().abs().max()
    assert (a.float() - b.float()).abs().max() <= tol * scale


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gradients_equal_pytorch_convolution(precision):
    inputs = _inputs()
    y_ref, ref = _gradients(F.conv2d, *inputs, precision)
    y, ours = _gradients(single_channel_conv2d, *inputs, precision)
    assert torch.equal(y, y_ref)  # the forward pass is PyTorch's own, autocast included
    for a, b in zip(ours, ref, strict=True):
        _close(a, b, TOLERANCE[precision])


def test_input_gradient_alone_equals_convolution_backward():
    x, weight, _, grad_out = _inputs(n=3, channels=4, size=14, kernel=5)
    expected = torch.ops.aten.convolution_backward(
        grad_out, x, weight, [4], [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
        [True, False, False])[0]
    _close(input_gradient(grad_out, weight, (14, 14)), expected, TOLERANCE["fp32"])


def test_under_vmap_per_run_gradients_equal_the_reference():
    xs, ws, bs, gs = _inputs(k_runs=3)

    def loss(conv):
        return lambda x, w, b, g: (conv(x, w, b) * g).sum()

    ref = vmap(grad(loss(F.conv2d), argnums=(0, 1, 2)))(xs, ws, bs, gs)
    ours = vmap(grad(loss(single_channel_conv2d), argnums=(0, 1, 2)))(xs, ws, bs, gs)
    for a, b in zip(ours, ref, strict=True):
        _close(a, b, TOLERANCE["fp32"])
    # Backpropagation through a vmapped forward, as PackedRuns trains K runs.
    for conv in (F.conv2d, single_channel_conv2d):
        xs.requires_grad_(), ws.requires_grad_()
        got = torch.autograd.grad((vmap(conv)(xs, ws, bs) * gs).sum(), (xs, ws))
        if conv is F.conv2d:
            expected = got
        else:
            for a, b in zip(got, expected, strict=True):
                _close(a, b, TOLERANCE["fp32"])


def test_first_conv_module_is_a_conv2d_with_its_state_dict():
    conv = FirstConv2d(7, 9)
    assert isinstance(conv, torch.nn.Conv2d)
    assert set(conv.state_dict()) == {"weight", "bias"} and conv.weight.shape == (7, 1, 9, 9)
    x = torch.rand(2, 1, 28, 28, requires_grad=True)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight, conv.bias))
    cnn = CNN((1, 28, 28), (8, 16))
    assert isinstance(cnn.features[0], FirstConv2d)
