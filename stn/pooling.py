"""Average pooling of images by a whole factor, written as two matrix products.

The networks average-pool one-channel images: the ST output at 42 and 60 px
before the classifier, and the ST-CNN localisation net's input. PyTorch's CPU
avg_pool2d (and its backward) is slow on such tensors: forward plus input
gradient of 512 one-channel 60x60 images (two packed runs of batch 256) took
22 ms, where the same average written as R^T x C took 7.7 ms (2-core Intel
Xeon VM, one thread; `make bench` times it at every size). R and C are the
(size, size // factor) matrices that hold 1/factor where an input row
(column) falls into an output row (column). The values agree with avg_pool2d
up to float rounding (tests/test_pooling.py); rows and columns past the last
whole window are dropped, as avg_pool2d's floor mode does.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn


@lru_cache(maxsize=16)
def pooling_matrix(size: int, factor: int, device: torch.device, dtype: torch.dtype):
    """(size, size // factor) matrix M with x @ M the mean of each run of ``factor``
    columns of x. Cached: read, never written."""
    windows = torch.arange(size, device=device)[:, None] // factor  # beyond the last: none
    outputs = torch.arange(size // factor, device=device)[None, :]
    return (windows == outputs).to(dtype) / factor


def average_pool(x: torch.Tensor, factor: int) -> torch.Tensor:
    """avg_pool2d(x, factor) of (..., H, W) images, in x's own dtype.

    Outside autocast: a bf16 matmul would round the images themselves, where
    avg_pool2d keeps them in fp32 (the classifier's layers still run in bf16).
    """
    height, width = x.shape[-2:]
    rows = pooling_matrix(height, factor, x.device, x.dtype)
    columns = pooling_matrix(width, factor, x.device, x.dtype)
    device_type = x.device.type
    if not torch.amp.is_autocast_available(device_type):  # the meta device of shape probes
        return rows.T @ (x @ columns)
    with torch.autocast(device_type, enabled=False):
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
