"""The registered networks (stn/catalog.py: the eight of Table 1), built by name:
``build_model(name, image_size)``.

A spec's backbone (FCN or CNN) and transform (none, Aff, Proj, TPS) fix the
layers. Each network has one free width (the paper gives none): the hidden
units of both FCN hidden layers or the CNN channels (c, 2c). The catalog's
widths are the values the budget rule of stn.budget gives, so every network
of one image size has about the CNN baseline's parameter count (model.budget
picks the baseline); tests/test_models.py fails if an architecture change
breaks that rule. Every network is a :class:`Network`: [spatial transformer ->]
[average pool ->] normalise -> classifier.
"""

from __future__ import annotations

import torch
from torch import nn

from stn import registry
from stn.classifiers import CNN, FCN
from stn.errors import ConfigError
from stn.generators import make_generator
from stn.localisation import ConvLocalisation, FCLocalisation
from stn.normalise import Normalise
from stn.pooling import AveragePool
from stn.transformer import SpatialTransformer


class Network(nn.Module):
    """Classifies raw [0, 1] images (N, 1, H, W), background 0.

    ``model(x)`` gives (N, 10) logits; ``model(x, return_theta=True)`` gives
    ``(logits, theta)`` with theta (N, n_params), or (N, 0) for the baselines,
    so the trainer can check any network's transform for NaN/inf alike.
    The ST (``model.spatial_transformer``, None for the baselines) samples the
    raw image, so its zero padding is background; normalisation comes after.
    The forward pass is pure (no in-place ops on inputs, no data-dependent
    Python branching), so it runs under torch.func.functional_call + vmap.
    """

    def __init__(
        self,
        classifier: nn.Module,
        spatial_transformer: SpatialTransformer | None = None,
        pool: int = 1,
    ):
        super().__init__()
        self.spatial_transformer = spatial_transformer
        self.pool = AveragePool(pool)
        self.normalise = Normalise()
        self.classifier = classifier

    def forward(self, x: torch.Tensor, return_theta: bool = False):
        if self.spatial_transformer is None:
            theta = x.new_zeros(x.shape[0], 0)
        else:
            x, theta = self.spatial_transformer(x)
        # Pooling before normalising equals pooling after: both are linear.
        logits = self.classifier(self.normalise(self.pool(x)))
        return (logits, theta) if return_theta else logits


# Canvas side -> factor by which the ST output is average-pooled before the
# classifier: 2 for RTS (42) and TC (60), as in the paper; R, P, E are 28.
# The baselines have no ST and see the full canvas (the paper pools only the
# ST output).
ST_OUTPUT_POOL = {28: 1, 42: 2, 60: 2}
IMAGE_SIZES = tuple(ST_OUTPUT_POOL)

# The CNN (64, 128) baseline fixes every width: chosen on the validation split across
# datasets (results/readings.md, "The parameter budget").
DEFAULT_BUDGET = 64


def check_image_size(name: str, image_size: int) -> None:
    if image_size not in ST_OUTPUT_POOL:
        sizes = ", ".join(str(s) for s in IMAGE_SIZES)
        raise ConfigError(
            f"model {name!r} has no setting for {image_size}x{image_size} images; "
            f"image_size must be one of {sizes} (R/P/E 28, RTS 42, TC 60)"
        )


def assemble(name: str, image_size: int, width: int) -> Network:
    """Network ``name`` for ``image_size`` with free width ``width`` (no checks)."""
    spec = registry.model(name)
    kind, transform = spec.backbone, spec.transform
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
    """Network ``name`` (a registered model, stn/registry.py) for square ``image_size``
    (one of IMAGE_SIZES), its width set by the parameter ``budget``."""
    spec = registry.model(name)
    check_image_size(name, image_size)
    return assemble(name, image_size, width(spec, image_size, budget))


def width(spec: registry.ModelSpec, image_size: int, budget: int) -> int:
    """The spec's free width for this image size and budget; the budget rule's for a spec
    that lists none."""
    if spec.widths is None:
        from stn.budget import rule_width  # stn.budget builds models to count them

        return rule_width(spec.name, image_size, budget)
    if budget not in spec.widths:
        raise ConfigError(f"model.budget={budget}: choose one of "
                          f"{', '.join(map(str, spec.widths))}")
    return spec.widths[budget][image_size]
