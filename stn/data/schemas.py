"""Typed distortion schemas: one dataclass per dataset, with all of its range checks.

The fields are exactly the keys of ``distortion:`` in configs/data/<name>.yaml
(whose comments cite the paper for each value). Hydra merges each data config
onto its schema (stn.config.DATA_SCHEMAS), so a misspelled key or a value of
the wrong type fails at composition; :meth:`check` holds the rules types
cannot express, and is the only place they live. Library callers of
:func:`stn.data.distortions.distort` with a plain dict go through the same
schema (:func:`stn.data.distortions.checked_distortion`).

The types match the YAML values (floats written as floats, TC's whole pixels
as ints), so a resolved config, and so every run's fingerprint, is the same
as before the schemas existed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from stn.data.clutter import REDUCE
from stn.data.warps import DIGIT, PLACEMENTS
from stn.errors import ConfigError

DISPLACE = ("source", "target")  # P, E: which end of the warp the offsets move
SIGMA_IS = ("std", "variance")  # P, E: what the paper's N(0, sigma) calls sigma


def merge_onto(schema: type, value, label: str, detail: Callable[[Exception], str]):
    """``value`` (a mapping or DictConfig) merged onto the dataclass ``schema``, as an
    instance of it; an unknown, missing or mistyped key is the one-line ConfigError
    "<label>: <OmegaConf's first line><detail(error)>"."""
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), value))
    except OmegaConfBaseException as error:
        raise ConfigError(f"{label}: {str(error).splitlines()[0]}{detail(error)}") from None


def _range(name: str, key: str, value, positive: bool = False) -> None:
    ok = len(value) == 2 and value[0] <= value[1] and (not positive or value[0] > 0)
    if not ok:
        sign = " with low > 0" if positive else ""
        raise ConfigError(
            f"data {name}: {key} must be [low, high] with low <= high{sign}, not {list(value)}"
        )


def _choice(name: str, key: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"data {name}: {key} must be one of {list(choices)}, not {value!r}")


def _at_least(name: str, key: str, value, least) -> None:
    if not value >= least:
        raise ConfigError(f"data {name}: {key} must be >= {least}, not {value!r}")


def _digit_frame(name: str, image_size: int) -> None:
    if image_size != DIGIT:
        raise ConfigError(f"data {name}: image_size must be 28 (the warp acts on the digit frame)")


def _canvas(name: str, image_size: int) -> None:
    if image_size < DIGIT:
        raise ConfigError(f"data {name}: image_size must be at least 28, not {image_size}")


@dataclass
class RDistortion:
    angle: list[float] = MISSING  # degrees, uniform in [low, high]

    def check(self, image_size: int) -> None:
        _range("r", "angle", self.angle)
        _canvas("r", image_size)


@dataclass
class RTSDistortion:
    angle: list[float] = MISSING
    scale: list[float] = MISSING
    placement: str = MISSING  # one of stn.data.warps.PLACEMENTS
    translation: list[float] = MISSING  # pixels, used by placement "range"

    def check(self, image_size: int) -> None:
        _range("rts", "angle", self.angle)
        _range("rts", "scale", self.scale, positive=True)
        _range("rts", "translation", self.translation)
        _choice("rts", "placement", self.placement, PLACEMENTS)
        _canvas("rts", image_size)


@dataclass
class PDistortion:
    scale: list[float] = MISSING
    sigma: float = MISSING  # corner offsets, pixels (meaning set by sigma_is)
    sigma_is: str = MISSING
    displace: str = MISSING

    def check(self, image_size: int) -> None:
        _range("p", "scale", self.scale, positive=True)
        _at_least("p", "sigma", self.sigma, 0)
        _choice("p", "sigma_is", self.sigma_is, SIGMA_IS)
        _choice("p", "displace", self.displace, DISPLACE)
        _digit_frame("p", image_size)


@dataclass
class EDistortion:
    scale: list[float] = MISSING
    sigma: float = MISSING  # control-point offsets, pixels (meaning set by sigma_is)
    sigma_is: str = MISSING
    grid_size: int = MISSING  # control points per side
    displace: str = MISSING

    def check(self, image_size: int) -> None:
        _range("e", "scale", self.scale, positive=True)
        _at_least("e", "sigma", self.sigma, 0)
        _choice("e", "sigma_is", self.sigma_is, SIGMA_IS)
        _at_least("e", "grid_size", self.grid_size, 2)
        _choice("e", "displace", self.displace, DISPLACE)
        _digit_frame("e", image_size)


@dataclass
class TCDistortion:
    translation: list[int] = MISSING  # whole pixels: the digit is copied, never interpolated
    clutter_count: int = MISSING
    clutter_size: int = MISSING
    combine: str = MISSING  # one of stn.data.clutter.REDUCE

    def check(self, image_size: int) -> None:
        _canvas("tc", image_size)
        _range("tc", "translation", self.translation)
        low, high = self.translation
        margin = (image_size - DIGIT) // 2
        if low < -margin or high > image_size - DIGIT - margin:
            raise ConfigError(
                f"TC translation {[low, high]} moves the 28x28 digit box off the "
                f"{image_size}x{image_size} canvas: keep it within "
                f"[{-margin}, {image_size - DIGIT - margin}]"
            )
        _at_least("tc", "clutter_count", self.clutter_count, 0)
        if not 0 < self.clutter_size <= DIGIT:
            raise ConfigError(f"TC clutter_size must be in [1, {DIGIT}], not {self.clutter_size}")
        _choice("tc", "combine", self.combine, tuple(REDUCE))
