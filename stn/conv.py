"""The CNN's first convolution with a faster input gradient on the CPU.

In an ST-CNN the classifier's first convolution (one input channel, 9x9,
stride 1, no padding) takes the ST output, so training needs its gradient
with respect to the input. oneDNN computes that backward-data pass for one
input channel slowly: at batch 256 and 28 px it was most of the ST-CNN's
extra step time over the CNN (make bench, results/bench.md). The same
gradient is one matrix product and k*k shifted adds:

    grad_x[n, y + i, x + j] = sum_c grad_out[n, c, y, x] * w[c, i, j]

computed as P = w^T grad_out (k*k rows of N*H_out*W_out) and then, for each
tap (i, j), row P[i, j] added into the input-sized window at offset (i, j).
The forward pass and the weight and bias gradients stay PyTorch's own
convolution kernels. The function has a generated vmap rule, so packed runs
(stn.train.packed) use this one implementation too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype autocast would give a convolution of x (x's own outside autocast)."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def input_gradient(grad_out: torch.Tensor, weight: torch.Tensor, size: tuple[int, int]):
    """Gradient of conv2d(x, weight) (one input channel, stride 1, no padding) wrt x.

    grad_out (N, C, H_out, W_out), weight (C, 1, kh, kw) -> fp32 (N, 1, H, W); the
    products and the sums are fp32 whatever grad_out's dtype (as a convolution
    accumulates).
    """
    n, c, h_out, w_out = grad_out.shape
    kh, kw = weight.shape[-2:]
    # (kh*kw, C) @ (C, N*H_out*W_out): for a channels_last grad_out the right operand is
    # a transposed view, not a copy.
    taps = weight.reshape(c, kh * kw).t() @ grad_out.transpose(0, 1).reshape(c, -1)
    taps = taps.view(kh, kw, n, h_out, w_out)
    # Zeros of the input's size built from grad_out, so that under vmap the buffer is
    # batched like grad_out and the in-place adds below are allowed.
    grad_x = F.pad(torch.zeros_like(grad_out[:, :1], dtype=torch.float32), (0, kw - 1, 0, kh - 1))
    assert grad_x.shape[-2:] == size, (grad_x.shape, size)
    for i in range(kh):
        for j in range(kw):
            grad_x[:, 0, i:i + h_out, j:j + w_out] += taps[i, j]
    return grad_x


def pytorch_conv_backward(grad_out, x, weight, output_mask):
    """PyTorch's own backward of conv2d(x, weight, bias) (stride 1, no padding):
    (grad_x, grad_weight, grad_bias), each None where ``output_mask`` is False."""
    return torch.ops.aten.convolution_backward(
        grad_out, x, weight, [weight.shape[0]], [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
        list(output_mask))


class _SingleChannelConv(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x, weight, bias):
        dtype = _compute_dtype(x)  # the autocast decision is made here, once
        with torch.autocast(x.device.type, enabled=False):
            return F.conv2d(x.to(dtype), weight.to(dtype), bias.to(dtype))

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, _ = inputs
        ctx.save_for_backward(x, weight)
        ctx.compute_dtype = output.dtype

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        x_c, weight_c = x.to(ctx.compute_dtype), weight.to(ctx.compute_dtype)
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = input_gradient(grad_out, weight_c, tuple(x.shape[-2:])).to(x.dtype)
        if need_w or need_b:
            _, grad_w, grad_b = pytorch_conv_backward(
                grad_out, x_c, weight_c, (False, need_w, need_b))
            grad_w = grad_w if grad_w is None else grad_w.to(weight.dtype)
            grad_b = grad_b if grad_b is None else grad_b.to(weight.dtype)
        return grad_x, grad_w, grad_b


def single_channel_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
    """conv2d(x, weight, bias) for one input channel, stride 1, no padding, with the
    input gradient of this module's docstring."""
    return _SingleChannelConv.apply(x, weight, bias)


class FirstConv2d(nn.Conv2d):
    """nn.Conv2d(1, out_channels, kernel) whose input gradient on the CPU is
    input_gradient's; elsewhere (cuDNN) and without an input gradient it is
    nn.Conv2d itself. Parameters and state_dict are nn.Conv2d's."""

    def __init__(self, out_channels: int, kernel_size: int):
        super().__init__(1, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.requires_grad:
            return single_channel_conv2d(x, self.weight, self.bias)
        return super().forward(x)
