"""The distorted-MNIST generators behind one entry point, :func:`distort`.

Each registered dataset (stn/catalog.py) names its schema and its draw and render
functions (stn/data/warps.py, stn/data/clutter.py).

Each dataset first draws every sample's distortion parameters on the CPU from
one ``torch.Generator`` (so a seed gives the same data on any device and for
any chunk size), then renders the images in batched chunks on the digits'
device. ``params`` records what was drawn; :func:`param_names` names its columns
(pixels are output-canvas pixels, x right, y down; angles in degrees, positive =
counter-clockwise as displayed):

- r:   angle
- rts: angle, scale, tx, ty (the digit box centre's offset from the canvas centre)
- p:   scale, {tl,tr,bl,br}_{dx,dy} (corner offsets; meaning set by `displace`)
- e:   scale, cp{k}_{dx,dy} for the row-major 4x4 control points (same `displace`)
- tc:  tx, ty (whole pixels), then clutter{i}_{src,crop_x,crop_y,x,y}: the index of
       the source digit in the same tensor, the crop's top-left in it, and the
       piece's top-left on the canvas
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields

import torch
from omegaconf import DictConfig

from stn import registry
from stn.data import schemas, warps
from stn.errors import ConfigError

# Digits rendered at once. Small enough that a chunk's float grids and images stay in
# the CPU caches (RTS: 256 x 42 x 42 x 2 floats, 3.6 MB): 2048 made the five datasets
# ~1.7x slower to generate on the 2-core CPU (make bench); large enough to fill a GPU.
CHUNK = 256


def typed_distortion(name: str, distortion):
    """A ``distortion:`` mapping (dict, DictConfig or schema instance) as its schema's
    dataclass instance; an unknown, missing or mistyped key is a one-line ConfigError."""
    cls = registry.dataset(name).schema
    if isinstance(distortion, cls):
        return distortion
    if not isinstance(distortion, Mapping | DictConfig):
        raise ConfigError(f"data {name}: distortion must be a mapping, not {distortion!r}")
    valid = ", ".join(f.name for f in fields(cls))
    return schemas.merge_onto(cls, distortion, f"data {name}: distortion",
                              lambda error: f" (valid keys: {valid})")


def checked_distortion(name: str, image_size: int, distortion) -> dict:
    """The distortion typed and range-checked (its schema's ``check``), as the plain dict
    the generators read."""
    typed = typed_distortion(name, distortion)
    typed.check(image_size)
    return asdict(typed)


def param_names(name: str, distortion: Mapping) -> list[str]:
    """Column names of the ``params`` that :func:`distort` returns for this config."""
    return list(registry.dataset(name).names(distortion))


def distort(
    name: str,
    digits: torch.Tensor,
    generator: torch.Generator,
    image_size: int,
    distortion,  # a mapping or its schema instance (stn.data.schemas)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distort uint8 (N, 28, 28) digits -> images uint8 (N, 1, S, S), params float32 (N, k).

    ``generator`` is a CPU generator; rendering runs on ``digits.device``. TC
    takes its clutter from other digits of the same tensor.
    """
    spec = registry.dataset(name)
    d = checked_distortion(name, image_size, distortion)
    digits = digits.reshape(-1, warps.DIGIT, warps.DIGIT)
    params = spec.draw(len(digits), generator, d, image_size).to(digits.device)
    # Chunks render straight into the output (a final torch.cat would copy it all again).
    images = digits.new_empty(len(digits), 1, image_size, image_size)
    for start in range(0, len(digits), CHUNK):
        rows = slice(start, start + CHUNK)
        images[rows] = spec.render(digits, rows, params[rows], d, image_size)
    return images, params
