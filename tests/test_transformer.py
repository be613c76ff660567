"""The spatial transformer module: identity at init, output sizes, reuse in other models."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stn.errors import ConfigError
from stn.generators import AffineGridGenerator, TPSGridGenerator, make_generator
from stn.localisation import ConvLocalisation, FCLocalisation
from stn.models import build_model
from stn.transformer import SpatialTransformer


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("size", [28, 42, 60])
@pytest.mark.parametrize("kind", ["aff", "proj", "tps"])
@pytest.mark.parametrize("body", ["fcn", "cnn"])
def test_fresh_transformer_reproduces_its_input(body, kind, size):
    st = build_model(f"st_{body}_{kind}", size).spatial_transformer
    images = torch.rand(3, 1, size, size) + 0.1  # non-zero everywhere, borders included
    with torch.no_grad():
        warped, theta = st(images)
    assert warped.shape == images.shape
    assert (warped - images).abs().max() < 1e-5
    torch.testing.assert_close(theta, st.generator.identity_params().expand(3, -1))


@pytest.mark.parametrize("kind", ["aff", "proj", "tps"])
def test_regression_layer_starts_at_the_identity(kind):
    st = SpatialTransformer(FCLocalisation((1, 8, 8)), make_generator(kind, (8, 8)))
    assert torch.all(st.regression.weight == 0)
    assert torch.equal(st.regression.bias, st.generator.identity_params())


def test_output_size_can_differ_from_input_size():
    # With align_corners=False, the identity sampled at half resolution reads
    # each output pixel halfway between two input pixels in x and in y, i.e.
    # exactly the 2x2 average.
    st = SpatialTransformer(FCLocalisation((1, 28, 28)), AffineGridGenerator((14, 14)))
    images = torch.rand(2, 1, 28, 28)
    warped, theta = st(images)
    assert warped.shape == (2, 1, 14, 14) and theta.shape == (2, 6)
    torch.testing.assert_close(warped, F.avg_pool2d(images, 2))


def test_user_localisation_net_and_multichannel_input():
    # The README snippet: any body mapping images to features. At init the TPS is the
    # identity, so a smaller output is plain bilinear resampling of every channel (every
    # sampling point inside the input, so zero padding never shows), and all channels
    # share one grid: permuting them permutes the output the same way.
    body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 24), nn.ReLU())
    generator = TPSGridGenerator((12, 8))
    st = SpatialTransformer(body, generator, features=24)
    images = torch.rand(2, 3, 16, 16)
    warped, theta = st(images)
    assert warped.shape == (2, 3, 12, 8)
    torch.testing.assert_close(theta, generator.identity_params().expand(2, -1))
    resized = F.interpolate(images, size=(12, 8), mode="bilinear", align_corners=False)
    torch.testing.assert_close(warped, resized, atol=1e-5, rtol=0)
    with torch.no_grad():  # zero weights: a non-identity transform, the same for any input
        st.regression.bias.add_(0.1 * torch.randn_like(st.regression.bias))
    warped, _ = st(images)
    assert (warped - resized).abs().max() > 1e-2  # it moved
    order = torch.tensor([2, 0, 1])
    torch.testing.assert_close(st(images[:, order])[0], warped[:, order])


def test_conv_localisation_rejects_too_small_an_input():
    with pytest.raises(ConfigError, match="too small"):
        ConvLocalisation((1, 12, 12))


def test_buffers_move_with_the_module():
    st = SpatialTransformer(ConvLocalisation((1, 28, 28)), TPSGridGenerator((28, 28))).double()
    assert st.generator.tps.operator.dtype == torch.float64
    warped, _ = st(torch.rand(1, 1, 28, 28, dtype=torch.float64))
    assert warped.dtype == torch.float64


def test_localisation_without_out_features_needs_features():
    with pytest.raises(TypeError, match="features="):
        SpatialTransformer(nn.Flatten(), AffineGridGenerator((8, 8)))
