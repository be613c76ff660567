"""The eight networks of Table 1, built by name: ``build_model(name, image_size)``.

Each network has one free width (the paper gives none): the hidden units of
both FCN hidden layers (fcn, st_fcn_*) or the CNN channels (c, 2c) (cnn,
st_cnn_*). WIDTHS holds the values the budget rule of stn.budget gives, so
every network of one image size has about the CNN baseline's parameter count
(model.budget picks the baseline);
tests/test_models.py fails if an architecture change breaks that rule.
"""

from __future__ import annotations

import torch

from stn.classifiers import CNN, FCN
from stn.errors import ConfigError
from stn.generators import make_generator
from stn.localisation import ConvLocalisation, FCLocalisation
from stn.network import Network
from stn.normalise import Normalise
from stn.transformer import SpatialTransformer

MODEL_NAMES = (
    "fcn",
    "cnn",
    "st_fcn_aff",
    "st_fcn_proj",
    "st_fcn_tps",
    "st_cnn_aff",
    "st_cnn_proj",
    "st_cnn_tps",
)

# Canvas side -> factor by which the ST output is average-pooled before the
# classifier: 2 for RTS (42) and TC (60), as in the paper; R, P, E are 28.
# The baselines have no ST and see the full canvas (the paper pools only the
# ST output).
ST_OUTPUT_POOL = {28: 1, 42: 2, 60: 2}
IMAGE_SIZES = tuple(ST_OUTPUT_POOL)

# Free width per parameter budget (model.budget: the CNN baseline's first-conv
# channels c; its second conv has 2c), image size and model (FCN: hidden units;
# CNN: first-conv channels), from stn.budget.rule_width; tests/test_models.py
# holds every entry to that rule.
WIDTHS = {
    32: {
        28: {"fcn": 116, "cnn": 32, "st_fcn_aff": 88, "st_fcn_proj": 88, "st_fcn_tps": 88,
             "st_cnn_aff": 30, "st_cnn_proj": 30, "st_cnn_tps": 30},
        42: {"fcn": 68, "cnn": 32, "st_fcn_aff": 118, "st_fcn_proj": 118, "st_fcn_tps": 117,
             "st_cnn_aff": 33, "st_cnn_proj": 33, "st_cnn_tps": 33},
        60: {"fcn": 46, "cnn": 32, "st_fcn_aff": 51, "st_fcn_proj": 51, "st_fcn_tps": 51,
             "st_cnn_aff": 34, "st_cnn_proj": 34, "st_cnn_tps": 34},
    },
    64: {
        28: {"fcn": 357, "cnn": 64, "st_fcn_aff": 339, "st_fcn_proj": 339, "st_fcn_tps": 338,
             "st_cnn_aff": 63, "st_cnn_proj": 63, "st_cnn_tps": 63},
        42: {"fcn": 226, "cnn": 64, "st_fcn_aff": 441, "st_fcn_proj": 441, "st_fcn_tps": 440,
             "st_cnn_aff": 66, "st_cnn_proj": 66, "st_cnn_tps": 66},
        60: {"fcn": 142, "cnn": 64, "st_fcn_aff": 335, "st_fcn_proj": 335, "st_fcn_tps": 334,
             "st_cnn_aff": 69, "st_cnn_proj": 69, "st_cnn_tps": 69},
    },
}  # fmt: skip
# The CNN (64, 128) baseline fixes every width: chosen on the validation split across
# datasets (results/readings.md, "The parameter budget").
DEFAULT_BUDGET = 64
BUDGETS = tuple(WIDTHS)


def parse_name(name: str) -> tuple[str, str | None]:
    """'st_cnn_tps' -> ('cnn', 'tps'); 'fcn' -> ('fcn', None); ConfigError if unknown."""
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")
    parts = name.split("_")
    return (parts[1], parts[2]) if parts[0] == "st" else (parts[0], None)


def check_image_size(name: str, image_size: int) -> None:
    if image_size not in ST_OUTPUT_POOL:
        sizes = ", ".join(str(s) for s in IMAGE_SIZES)
        raise ConfigError(
            f"model {name!r} has no setting for {image_size}x{image_size} images; "
            f"image_size must be one of {sizes} (R/P/E 28, RTS 42, TC 60)"
        )


def assemble(name: str, image_size: int, width: int) -> Network:
    """Network ``name`` for ``image_size`` with free width ``width`` (no checks)."""
    kind, transform = parse_name(name)
    size = image_size
    transformer = None
    if transform is not None:
        in_shape = (1, size, size)
        body = FCLocalisation(in_shape) if kind == "fcn" else ConvLocalisation(in_shape)
        transformer = SpatialTransformer(
            torch.nn.Sequential(Normalise(), body),
            make_generator(transform, (size, size)),
            features=body.out_features,
        )
        size //= ST_OUTPUT_POOL[image_size]
    in_shape = (1, size, size)
    classifier = FCN(in_shape, width) if kind == "fcn" else CNN(in_shape, (width, 2 * width))
    pool = ST_OUTPUT_POOL[image_size] if transform is not None else 1
    return Network(classifier, transformer, pool)


def build_model(name: str, image_size: int, budget: int = DEFAULT_BUDGET) -> Network:
    """Network ``name`` (one of MODEL_NAMES) for square ``image_size`` (one of IMAGE_SIZES),
    its width set by the parameter ``budget`` (one of BUDGETS)."""
    parse_name(name)
    check_image_size(name, image_size)
    if budget not in WIDTHS:
        raise ConfigError(f"model.budget={budget}: choose one of {', '.join(map(str, BUDGETS))}")
    return assemble(name, image_size, WIDTHS[budget][image_size][name])
