"""The parameter-budget rule behind the models' widths (stn/catalog.py), and the parameter table.

The paper says only that all networks have "approximately the same number
of parameters". Rule: per image size, the budget is the parameter count of
the CNN baseline with channels (c, 2c), c = model.budget (default
stn.models.DEFAULT_BUDGET). Every other network keeps the
paper's fixed parts (localisation nets, layer counts) and takes the free
width whose total count is closest to the budget. c = 64 (CNN (64, 128)) is
the default, chosen on the validation split across datasets
(results/readings.md): with c = 32, about the smallest CNN that leaves room at
60x60 for the ST-FCN localisation net (3600 x 32 weights in its first layer
alone), the FCNs at 42 and 60 px have 68 and 46 hidden units and underfit.
"""

from __future__ import annotations

import torch

from stn import models, registry
from stn.models import DEFAULT_BUDGET, IMAGE_SIZES, assemble

_MAX_WIDTH = 4096

RULE = (
    "budget per image size = parameters of the CNN baseline with channels (c, 2c), "
    f"c = model.budget (default {DEFAULT_BUDGET}); "
    "every other network takes the free width (FCN: hidden units of both hidden layers; "
    "ST-CNN: classifier channels c, 2c) whose parameter count is closest to the budget"
)


def count_parameters(name: str, image_size: int, width: int) -> int:
    # Built on the meta device: shapes only, no memory, no draws from the RNG.
    with torch.device("meta"):
        model = assemble(name, image_size, width)
    return sum(p.numel() for p in model.parameters())


def budget(image_size: int, cnn_width: int = DEFAULT_BUDGET) -> int:
    """Parameter budget of one image size: the count of the CNN baseline (c, 2c)."""
    return count_parameters("cnn", image_size, cnn_width)


def rule_width(name: str, image_size: int, cnn_width: int = DEFAULT_BUDGET) -> int:
    """The free width whose parameter count is closest to the budget (ties: narrower)."""
    spec = registry.model(name)  # a ConfigError for an unknown name
    if spec.backbone == "cnn" and spec.transform is None:
        return cnn_width
    target = budget(image_size, cnn_width)

    def count(width: int) -> int:
        return count_parameters(name, image_size, width)

    lo, hi = 1, _MAX_WIDTH  # counts grow with width: bisect for the first one >= target
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    if lo > 1 and target - count(lo - 1) <= count(lo) - target:
        return lo - 1
    return lo


def describe_width(name: str, width: int) -> str:
    """'h=116' (hidden units) for FCNs, 'c=32/64' (channels) for CNNs."""
    return f"h={width}" if registry.model(name).backbone == "fcn" else f"c={width}/{2 * width}"


def parameter_table(image_sizes: tuple[int, ...] = IMAGE_SIZES) -> list[dict]:
    """One row per (image size, model) as built by build_model, with the budget."""
    rows = []
    for size in image_sizes:
        target = budget(size)
        for name, spec in registry.models().items():
            width = models.width(spec, size, DEFAULT_BUDGET)
            params = count_parameters(name, size, width)
            rows.append(
                {
                    "model": name,
                    "image_size": size,
                    "width": describe_width(name, width),
                    "params": params,
                    "budget": target,
                    "ratio": round(params / target, 4),
                }
            )
    return rows
