"""The eight Table 1 networks: registry, trainer contract, budget rule, vmap packing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from stn import registry
from stn.budget import budget, parameter_table, rule_width
from stn.errors import ConfigError
from stn.models import IMAGE_SIZES, build_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


MODEL_NAMES = registry.model_names()
BUDGETS = (32, 64)  # the budgets stn/catalog.py lists widths for


def test_model_names_in_table_order():
    assert MODEL_NAMES == (
        "fcn", "cnn", "st_fcn_aff", "st_fcn_proj", "st_fcn_tps",
        "st_cnn_aff", "st_cnn_proj", "st_cnn_tps",
    )  # fmt: skip


@pytest.mark.parametrize("size", IMAGE_SIZES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_forward_backward_and_localisation_gradients(name, size):
    model = build_model(name, size)
    images = torch.rand(4, 1, size, size)
    labels = torch.arange(4)
    logits, theta = model(images, return_theta=True)
    n_params = {"aff": 6, "proj": 8, "tps": 32}.get(name.rsplit("_", 1)[-1], 0)
    assert logits.shape == (4, 10) and theta.shape == (4, n_params)
    torch.testing.assert_close(model(images), logits)
    F.cross_entropy(logits, labels).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    if n_params == 0:
        assert model.spatial_transformer is None
        return
    st = model.spatial_transformer
    # The regression weights start at zero but already get gradient (dL/dtheta
    # times the features); after one step the rest of the localisation net does too.
    assert st.regression.weight.grad.abs().sum() > 0
    assert st.regression.bias.grad.abs().sum() > 0
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    body = [p for n, p in st.named_parameters() if n.startswith("localisation")]
    assert body and all(p.grad.abs().sum() > 0 for p in body)


def test_spatial_transformer_alone_is_the_models_own_transform():
    # The ST exposed by a network warps exactly as inside it: the same theta, and the
    # classifier scores its (pooled) output. At init it is the identity.
    model = build_model("st_cnn_tps", 42)
    st = model.spatial_transformer
    images = torch.rand(2, 1, 42, 42)
    warped, theta = st(images)
    torch.testing.assert_close(warped, images, atol=1e-5, rtol=0)
    with torch.no_grad():
        st.regression.bias.add_(0.05 * torch.randn_like(st.regression.bias))
    warped, theta = st(images)
    logits, model_theta = model(images, return_theta=True)
    torch.testing.assert_close(model_theta, theta)
    torch.testing.assert_close(logits, model.classifier(model.normalise(F.avg_pool2d(warped, 2))))


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ConfigError, match="st_cnn_tps") as info:
        build_model("st_rnn_aff", 28)
    assert all(name in str(info.value) for name in MODEL_NAMES)


def test_unsupported_image_size_lists_the_working_sizes():
    with pytest.raises(ConfigError, match="28, 42, 60"):
        build_model("cnn", 32)


@pytest.mark.parametrize("size", IMAGE_SIZES)
@pytest.mark.parametrize("cnn_width", BUDGETS)
def test_widths_follow_the_budget_rule(size, cnn_width):
    for name in MODEL_NAMES:
        widths = registry.model(name).widths
        assert widths[cnn_width][size] == rule_width(name, size, cnn_width), name
        params = sum(p.numel() for p in build_model(name, size, cnn_width).parameters())
        assert 0.9 <= params / budget(size, cnn_width) <= 1.1, (name, params)
    rows = [r for r in parameter_table((size,)) if r["image_size"] == size]
    assert len(rows) == len(MODEL_NAMES)
    for row in rows:
        assert 0.9 <= row["params"] / budget(size) <= 1.1, row
        model = build_model(row["model"], size)
        assert row["params"] == sum(p.numel() for p in model.parameters())


def test_an_unknown_budget_is_a_one_line_error():
    with pytest.raises(ConfigError, match="model.budget=48: choose one of 32, 64"):
        build_model("fcn", 28, 48)


@pytest.mark.parametrize(
    "name,size", [(n, 28) for n in MODEL_NAMES] + [("st_cnn_tps", 60), ("st_fcn_proj", 42)]
)
@pytest.mark.parametrize("shared_input", [False, True])
def test_vmap_over_stacked_copies_matches_each_copy(name, size, shared_input):
    copies = [build_model(name, size) for _ in range(2)]  # different random weights
    for model in copies:  # move off the identity, so each copy warps differently
        if model.spatial_transformer is not None:
            torch.nn.init.normal_(model.spatial_transformer.regression.weight, std=0.01)
    params, buffers = stack_module_state(copies)
    template = build_model(name, size).to("meta")
    images = torch.rand(2, 3, 1, size, size)
    batch = images[0] if shared_input else images

    def one(p, b, x):
        return functional_call(template, (p, b), (x,), {"return_theta": True})

    logits, theta = vmap(one, in_dims=(0, 0, None if shared_input else 0))(params, buffers, batch)
    for k, model in enumerate(copies):
        expected_logits, expected_theta = model(images[0] if shared_input else images[k], True)
        torch.testing.assert_close(logits[k], expected_logits, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(theta[k], expected_theta, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["st_fcn_aff", "st_cnn_proj", "st_cnn_tps"])
def test_checkpoints_hold_the_parameters_alone(name):
    # Grid buffers are rebuilt from the code, so a checkpoint does not pin their layout.
    model = build_model(name, 28)
    assert set(model.state_dict()) == {n for n, _ in model.named_parameters()}


def test_param_table_script_prints_markdown():
    result = subprocess.run(
        [sys.executable, "scripts/param_table.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "| st_cnn_tps |" in result.stdout and "Rule:" in result.stdout
    assert result.stdout.count("%)") == 3 * 8  # every model at every image size
