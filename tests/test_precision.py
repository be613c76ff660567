"""bf16 autocast (schedule.precision): what it may change and what it must not."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from _train_helpers import base_overrides, compose_cfg, run_folder

from stn.models import build_model
from stn.precision import autocast, resolve_precision
from stn.train import loop
from stn.train.optim import make_optimizer
from stn.train.packed import PackedRuns
from stn.train.step import sgd_step

CPU = torch.device("cpu")


def test_explicit_precisions_are_kept():
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"
    assert resolve_precision("auto", torch.device("meta")) == "fp32"  # no native bf16


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="reads the Linux CPU flags")
def test_auto_picks_bf16_on_a_cpu_exactly_when_its_flags_show_native_bf16():
    # The kernel's CPU flags, a source independent of torch's own probes.
    flags = set(Path("/proc/cpuinfo").read_text().split())
    native = bool(flags & {"avx512_bf16", "amx_bf16"})
    assert resolve_precision("auto", CPU) == ("bf16" if native else "fp32")


@pytest.mark.parametrize("model", ["st_cnn_aff", "st_cnn_proj", "st_cnn_tps", "st_fcn_tps"])
def test_transform_and_sampling_stay_fp32_under_bf16_autocast(model):
    # A fresh transformer is the identity: sampled in fp32 it returns its input to
    # float rounding; a bf16 grid would move sampling points by up to ~0.1 pixel.
    torch.manual_seed(0)
    st = build_model(model, 28).spatial_transformer
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad(), autocast("bf16", "cpu"):
        warped, theta = st(images)
    assert warped.dtype == torch.float32 and theta.dtype == torch.float32
    assert (warped - images).abs().max() < 1e-5


@pytest.mark.parametrize("model", ["cnn", "st_cnn_tps", "st_fcn_aff"])
def test_a_bf16_step_follows_the_fp32_step(model):
    """Same weights, same batch: bf16 changes the loss by < 1% and turns the gradient by
    < 8 degrees (cosine > 0.99; measured 0.998-0.9995). A broken cast (a bf16 weight
    update, a bf16 grid) fails this; whether bf16 changes trained errors is measured by
    training (results/diagnostics/bf16_quick_old_defaults/compare_quick_fp32_vs_quick.md),
    not here."""
    schedule = compose_cfg(["schedule=smoke"]).schedule
    images = torch.rand(1, 64, 1, 28, 28)
    labels = torch.randint(0, 10, (1, 64))
    losses, grads = {}, {}
    for precision in ("fp32", "bf16"):
        packed = PackedRuns(model, 28, [0], CPU, precision)
        optimizer = make_optimizer(packed.params, schedule)
        losses[precision], logits, _ = sgd_step(packed, optimizer, images, labels)
        assert logits.dtype == torch.float32
        grads[precision] = torch.cat([p.grad.flatten() for p in packed.parameters()])
        assert all(p.dtype == torch.float32 for p in packed.parameters())
    assert losses["bf16"].item() == pytest.approx(losses["fp32"].item(), rel=1e-2)
    assert torch.cosine_similarity(grads["bf16"], grads["fp32"], dim=0) > 0.99


def test_runs_record_the_resolved_precision(tmp_path, data_dir):
    overrides = [*base_overrides(tmp_path, data_dir), "model=st_cnn_aff"]
    (final,) = loop.train(compose_cfg([*overrides, "schedule.precision=bf16"]))
    folder = run_folder(tmp_path, "r", "st_cnn_aff")
    assert yaml.safe_load((folder / "config.yaml").read_text())["schedule"]["precision"] == "bf16"
    assert 0.0 <= final["test_error"] <= 100.0
    # auto is resolved before the run is fingerprinted: config.yaml never says "auto"
    loop.train(compose_cfg([*overrides, "schedule.precision=auto", "seed=1"]))
    config_file = run_folder(tmp_path, "r", "st_cnn_aff", 1) / "config.yaml"
    resolved = yaml.safe_load(config_file.read_text())["schedule"]["precision"]
    assert resolved == resolve_precision("auto", CPU)
