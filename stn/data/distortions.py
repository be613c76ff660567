"""The five distorted-MNIST generators behind one entry point, :func:`distort`.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from omegaconf import DictConfig, OmegaConf

from stn.data import clutter, warps
from stn.errors import ConfigError

# Digits rendered at once. Small enough that a chunk's float grids and images stay in
# the CPU caches (RTS: 256 x 42 x 42 x 2 floats, 3.6 MB): 2048 made the five datasets
# ~1.7x slower to generate on the 2-core CPU (make bench); large enough to fill a GPU.
CHUNK = 256


@dataclass(frozen=True)
class Distortion:
    keys: tuple[str, ...]  # exactly the keys of `distortion:` in configs/data/<name>.yaml
    names: Callable  # (distortion) -> column names of params
    draw: Callable  # (n, generator, distortion, image_size) -> float32 (n, k) on the CPU
    render: Callable  # (digits, rows, params, distortion, image_size) -> uint8 (m, 1, S, S)
    digit_frame: bool = False  # canvas must be the 28x28 digit frame (corners/control points)


DISTORTIONS = {
    "r": Distortion(("angle",), warps.names_r, warps.draw_r, warps.render_r),
    "rts": Distortion(
        ("angle", "scale", "placement", "translation"),
        warps.names_rts,
        warps.draw_rts,
        warps.render_rts,
    ),
    "p": Distortion(
        ("scale", "sigma", "sigma_is", "displace"),
        warps.names_p,
        warps.draw_p,
        warps.render_p,
        digit_frame=True,
    ),
    "e": Distortion(
        ("scale", "sigma", "sigma_is", "grid_size", "displace"),
        warps.names_e,
        warps.draw_e,
        warps.render_e,
        digit_frame=True,
    ),
    "tc": Distortion(
        ("translation", "clutter_count", "clutter_size", "combine"),
        clutter.names_tc,
        clutter.draw_tc,
        clutter.render_tc,
    ),
}
# The five datasets of Table 1 in the paper's column order; every other list derives from it.
DATASET_NAMES = tuple(DISTORTIONS)

CHOICES = {
    "displace": ("source", "target"),
    "sigma_is": ("std", "variance"),
    "placement": warps.PLACEMENTS,
    "combine": tuple(clutter.REDUCE),
}


def validate_distortion(name: str, image_size: int, distortion: Mapping) -> dict:
    """The `distortion:` mapping as a plain dict, or a one-line ConfigError."""
    spec = _spec(name)
    d = (
        OmegaConf.to_container(distortion)
        if isinstance(distortion, DictConfig)
        else dict(distortion)
    )
    valid = ", ".join(spec.keys)
    unknown, missing = sorted(set(d) - set(spec.keys)), sorted(set(spec.keys) - set(d))
    if unknown:
        raise ConfigError(f"data {name}: unknown distortion key(s) {unknown}; valid keys: {valid}")
    if missing:
        raise ConfigError(f"data {name}: distortion lacks {missing}; valid keys: {valid}")
    for key in ("angle", "scale", "translation"):
        if key in d:
            _check_range(name, key, d[key], positive=key == "scale")
    for key, choices in CHOICES.items():
        if key in d and d[key] not in choices:
            raise ConfigError(f"data {name}: {key} must be one of {list(choices)}, not {d[key]!r}")
    for key, least in (("sigma", 0), ("grid_size", 2), ("clutter_count", 0)):
        if key in d and not d[key] >= least:
            raise ConfigError(f"data {name}: {key} must be >= {least}, not {d[key]!r}")
    if spec.digit_frame and image_size != warps.DIGIT:
        raise ConfigError(f"data {name}: image_size must be 28 (the warp acts on the digit frame)")
    if image_size < warps.DIGIT:
        raise ConfigError(f"data {name}: image_size must be at least 28, not {image_size}")
    if name == "tc":
        clutter.check_tc(d, image_size)
    return d


def param_names(name: str, distortion: Mapping) -> list[str]:
    """Column names of the ``params`` that :func:`distort` returns for this config."""
    return list(_spec(name).names(distortion))


def distort(
    name: str,
    digits: torch.Tensor,
    generator: torch.Generator,
    image_size: int,
    distortion: Mapping,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distort uint8 (N, 28, 28) digits -> images uint8 (N, 1, S, S), params float32 (N, k).

    ``generator`` is a CPU generator; rendering runs on ``digits.device``. TC
    takes its clutter from other digits of the same tensor.
    """
    spec = _spec(name)
    d = validate_distortion(name, image_size, distortion)
    digits = digits.reshape(-1, warps.DIGIT, warps.DIGIT)
    params = spec.draw(len(digits), generator, d, image_size).to(digits.device)
    # Chunks render straight into the output (a final torch.cat would copy it all again).
    images = digits.new_empty(len(digits), 1, image_size, image_size)
    for start in range(0, len(digits), CHUNK):
        rows = slice(start, start + CHUNK)
        images[rows] = spec.render(digits, rows, params[rows], d, image_size)
    return images, params


def _spec(name: str) -> Distortion:
    if name not in DISTORTIONS:
        raise ConfigError(f"unknown dataset {name!r}: choose one of {', '.join(DISTORTIONS)}")
    return DISTORTIONS[name]


def _check_range(name: str, key: str, value, positive: bool) -> None:
    ok = isinstance(value, list | tuple) and len(value) == 2
    ok = ok and all(isinstance(v, int | float) for v in value) and value[0] <= value[1]
    if not ok or (positive and value[0] <= 0):
        sign = " with low > 0" if positive else ""
        raise ConfigError(
            f"data {name}: {key} must be [low, high] with low <= high{sign}, not {value}"
        )
