"""The spatial transformer: localisation net -> regression -> grid generator -> sampler.

Usable in any model in a few lines::

    from stn.generators import AffineGridGenerator
    from stn.localisation import ConvLocalisation
    from stn.transformer import SpatialTransformer

    st = SpatialTransformer(ConvLocalisation((1, 60, 60)), AffineGridGenerator((30, 30)))
    warped, theta = st(images)  # raw (N, 1, 60, 60) -> (N, 1, 30, 30), (N, 6)
"""

from __future__ import annotations

import torch
from torch import nn

from stn.generators import GridGenerator
from stn.grids import bilinear_sample


class SpatialTransformer(nn.Module):
    """Warp images by a transform regressed from the images themselves.

    ``localisation``: any module mapping the (N, C, H, W) input to
    (N, features) (give ``features`` if it has no ``out_features``).
    ``generator``: a :class:`stn.generators.GridGenerator`; its ``out_size``
    is the output size, which may differ from the input size.

    The regression layer from the features to the generator's parameters
    starts at zero weights and the identity bias, so a fresh transformer
    reproduces its input (a bad bias init roughly doubled the error of some
    public reproductions, docs/paper.md). Sampling is bilinear with zero padding:
    feed images whose background is 0 and normalise after the transformer.
    """

    def __init__(
        self, localisation: nn.Module, generator: GridGenerator, features: int | None = None
    ):
        super().__init__()
        if features is None:
            if not hasattr(localisation, "out_features"):
                raise TypeError("localisation has no out_features: pass features=<its width>")
            features = localisation.out_features
        self.localisation = localisation
        self.regression = nn.Linear(features, generator.n_params)
        self.generator = generator
        self.reset_regression()

    @torch.no_grad()
    def reset_regression(self) -> None:
        """Set the regression layer to the identity transform."""
        self.regression.weight.zero_()
        self.regression.bias.copy_(self.generator.identity_params())

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, H, W) -> (warped (N, C, *generator.out_size), theta (N, n_params))."""
        features = self.localisation(images)
        # The transform, its grid and the sampling stay fp32 under bf16 autocast:
        # bf16's 8-bit mantissa would move sampling points by up to ~0.1 pixel.
        with torch.autocast(images.device.type, enabled=False):
            theta = self.regression(features.to(self.regression.weight.dtype))
            return bilinear_sample(images, self.generator(theta)), theta
