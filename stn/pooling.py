"""Average pooling by a whole factor, written as two matrix products on the CPU.

The networks average-pool one-channel images: the ST output at 42 and 60 px
before the classifier (forward and input gradient), and the ST-CNN
localisation net's input at every size (forward only). PyTorch's CPU
avg_pool2d and its backward are slow on such tensors; the same average is
R^T x C, with R and C the (size, size // factor) matrices that hold 1/factor
where an input row (column) falls into an output row (column). `make bench`
times the two (results/bench.md: 1.7-2.8x faster, forward alone or with
the input gradient, on a 2-core Intel Xeon VM with one thread). The values agree with
avg_pool2d up to float rounding (tests/test_pooling.py); rows and columns
past the last whole window are dropped, as avg_pool2d's floor mode does.
Elsewhere (CUDA, where a matmul may run in TF32, and the meta device of shape
probes) it is avg_pool2d itself, as stn.conv.FirstConv2d keeps cuDNN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pooling_matrix(size: int, factor: int, device, dtype) -> torch.Tensor:
    """(size, size // factor) matrix M with x @ M the mean of each whole run of
    ``factor`` columns of x. Built per call (a few microseconds): a cached tensor
    could be an inference tensor or shared with a caller that writes to it."""
    window_of_column = torch.arange(size, device=device)[:, None] // factor
    outputs = torch.arange(size // factor, device=device)[None, :]
    # Columns past the last whole window match no output (floor mode).
    return (window_of_column == outputs).to(dtype) / factor


def average_pool(x: torch.Tensor, factor: int) -> torch.Tensor:
    """avg_pool2d(x, factor) of (..., H, W) images, in x's own dtype.

    On the CPU the products run outside autocast: a bf16 matmul would round the
    images themselves, where avg_pool2d keeps them in fp32 (the classifier's
    layers still run in bf16). A factor of 1 returns x itself, as nn.Identity.
    """
    if factor == 1:
        return x
    if x.device.type != "cpu":
        return F.avg_pool2d(x, factor)
    height, width = x.shape[-2:]
    if min(height, width) < factor:
        raise RuntimeError(f"a {height}x{width} image is too small to pool by {factor}")
    rows = pooling_matrix(height, factor, x.device, x.dtype)
    columns = pooling_matrix(width, factor, x.device, x.dtype)
    with torch.autocast("cpu", enabled=False):
        return rows.T @ (x @ columns)


class AveragePool(nn.Module):
    """nn.AvgPool2d(factor) (stride = kernel, no padding) as :func:`average_pool`;
    no parameters or buffers, so a network's state_dict is nn.AvgPool2d's."""

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return average_pool(x, self.factor)

    def extra_repr(self) -> str:
        return f"factor={self.factor}"
