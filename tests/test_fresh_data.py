"""Issue 12: fresh training distortions by default, exact resume across epochs, and the
validation split that chooses readings without reading the test set."""

from __future__ import annotations

import pytest
import torch
from _train_helpers import (
    assert_stop_and_resume_is_bitwise,
    base_overrides,
    compose_cfg,
    run_folder,
)

from stn import registry
from stn.train import data as train_data
from stn.train import loop

# LIMIT=600 digits, smoke batch 32: 18 batches an epoch, so 60 iterations span 4 epochs.
ARGS = ["model=st_fcn_aff", "schedule.iterations=60", "schedule.eval_every=20",
        "trainer.checkpoint_every=1"]
PER_EPOCH = 600 // 32


@pytest.mark.parametrize("stop_at", [PER_EPOCH, PER_EPOCH + 7])  # at an epoch boundary, mid-epoch
def test_fresh_distortions_resume_bitwise(tmp_path, data_dir, monkeypatch, stop_at):
    """A run stopped at ``stop_at`` and resumed ends bit for bit where an uninterrupted
    run does: the distortions of every epoch are a pure function of (train_seed, epoch)."""
    assert_stop_and_resume_is_bitwise(tmp_path, data_dir, monkeypatch, ARGS, stop_at)


def test_training_distortions_change_every_epoch_by_default(tmp_path, data_dir):
    cfg = compose_cfg(base_overrides(tmp_path, data_dir))
    assert cfg.data.redraw_train
    data = train_data.load_training_data(cfg, torch.device("cpu"))
    seen = []
    for epoch in range(3):
        data.train_batch([0], epoch * data.batches_per_epoch)
        seen.append(data.train_images.clone())
    assert not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])


@pytest.mark.parametrize("name", registry.dataset_names())
def test_train_and_test_distortions_never_share_a_seed(name):
    cfg = compose_cfg([f"data={name}"])
    train_seeds = {train_data.epoch_seed(cfg.data, epoch) for epoch in range(1000)}
    assert len(train_seeds) == 1000 and cfg.data.train_seed in train_seeds
    tests = {compose_cfg([f"data={other}"]).data.test_seed for other in registry.dataset_names()}
    assert not train_seeds & tests


def test_validation_holds_out_training_digits_and_never_loads_the_test_set(
    tmp_path, data_dir, monkeypatch
):
    real_load = train_data.load_split

    def train_split_only(data_cfg, folder, split):
        assert split != "test", "a validation run loaded the test set"
        return real_load(data_cfg, folder, split)

    monkeypatch.setattr(train_data, "load_split", train_split_only)
    cfg = compose_cfg([*base_overrides(tmp_path, data_dir), "data.validation=100"])
    data = train_data.load_training_data(cfg, torch.device("cpu"))
    full = real_load(cfg.data, data_dir, "train")
    assert data.eval_split == "val" and data.n_eval == 100
    assert torch.equal(data.eval_images, full["images"][-100:])  # the fixed epoch-0 copy
    assert len(data.train_labels) == len(full["labels"]) - 100
    # Fresh epochs redraw the training digits only, never the held-out ones.
    data.train_batch([0], data.batches_per_epoch)
    assert len(data.train_images) == len(full["labels"]) - 100

    (final,) = loop.train(cfg)
    assert "test_error" not in final and 0.0 <= final["val_error"] <= 100.0
    assert final["val_samples"] == 100
    header = (run_folder(tmp_path, "r", "cnn") / "metrics.csv").read_text().splitlines()[0]
    assert header == "iteration,lr,train_loss,train_error,val_error,val_samples"
