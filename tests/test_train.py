"""Issue 4: configs, the training entry point, sweeps, and that training learns."""

from __future__ import annotations

import json

import pytest
import torch
from _train_helpers import base_overrides, compose_cfg, run_folder, run_script
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError
from PIL import Image

from stn import registry
from stn.data.datasets import load_split
from stn.models import build_model
from stn.train.data import load_training_data
from stn.train.loop import train
from stn.train.run_folder import read_metrics
from stn.train.validate import validate

DATA_SIZES = {"r": 28, "rts": 42, "p": 28, "e": 28, "tc": 60}


@pytest.mark.parametrize("data", registry.dataset_names())
def test_every_cell_composes_and_validates(data):
    for model in registry.model_names():
        cfg = compose_cfg([f"data={data}", f"model={model}", "schedule=paper"])
        assert (cfg.data.name, cfg.model.name) == (data, model)
        assert cfg.data.image_size == DATA_SIZES[data]
        assert cfg.schedule.iterations == 150_000 and cfg.schedule.batch_size == 256
        validate(cfg)


def test_unknown_group_choice_lists_the_choices():
    with pytest.raises(ConfigCompositionException) as error:
        compose_cfg(["model=st_cnn_afine"])
    assert "st_cnn_aff" in str(error.value) and "st_fcn_tps" in str(error.value)
    with pytest.raises(ConfigCompositionException) as error:
        compose_cfg(["data=rotated"])
    assert "rts" in str(error.value) and "tc" in str(error.value)


def test_unknown_key_fails_at_composition():
    with pytest.raises((ConfigCompositionException, ConfigKeyError)):
        compose_cfg(["schedule.learning_rate=0.1"])


def test_experiment_table1_holds_the_full_grid():
    cfg = compose_cfg(["experiment=table1"])
    assert cfg.trainer.n_seeds == 3 and cfg.schedule.name == "paper"
    quick = compose_cfg(["experiment=table1", "schedule=quick"])
    assert quick.schedule.name == "quick"  # the command line wins over the experiment


def _evaluate_checkpoint(folder, data_cfg, data_dir) -> float:
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    model_cfg = state["config"]["model"]
    model = build_model(model_cfg["name"], data_cfg.image_size, model_cfg["budget"])
    model.load_state_dict(state["model"])
    model.eval()
    test = load_split(data_cfg, data_dir, "test")
    with torch.no_grad():
        logits = model(test["images"].float() / 255)
    return 100.0 * (logits.argmax(1) != test["labels"]).float().mean().item()


def test_train_script_writes_every_file(tmp_path, data_dir):
    args = [*base_overrides(tmp_path, data_dir), "model=st_cnn_aff", "logger=wandb"]
    result = run_script(args)
    assert result.returncode == 0, result.stderr
    folder = run_folder(tmp_path, "r", "st_cnn_aff")
    for name in ("config.yaml", "metrics.csv", "final.json", "checkpoint.pt", "status.json"):
        assert (folder / name).stat().st_size > 0, name
    (offline,) = (folder / "wandb").glob("offline-run-*")
    # One transformation panel per evaluation (smoke: iterations 10 and 20), as images
    # in the offline run's media, where wandb sync uploads them from.
    panels = sorted((offline / "files" / "media" / "images").glob("transforms_*.png"))
    assert [int(p.name.split("_")[1]) for p in panels] == [10, 20]
    for path in panels:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 4 * image.height > 0
    final = json.loads((folder / "final.json").read_text())
    assert 0.0 <= final["test_error"] <= 100.0
    assert final["iterations"] == 20 and final["params"] > 0
    for key in ("wall_time_s", "device", "git_commit", "versions", "hardware"):
        assert key in final
    assert json.loads((folder / "status.json").read_text())["status"] == "complete"
    header = (folder / "metrics.csv").read_text().splitlines()[0]
    assert header == "iteration,lr,train_loss,train_error,test_error,test_samples"
    cfg = compose_cfg(base_overrides(tmp_path, data_dir))
    independent = _evaluate_checkpoint(folder, cfg.data, data_dir)
    assert final["test_error"] == pytest.approx(independent, abs=1e-4)


def test_small_multirun_makes_two_run_folders(tmp_path, data_dir):
    result = run_script(["-m", *base_overrides(tmp_path, data_dir), "model=fcn,st_fcn_tps"])
    assert result.returncode == 0, result.stderr
    for model in ("fcn", "st_fcn_tps"):
        assert (run_folder(tmp_path, "r", model) / "final.json").exists(), model


def test_training_learns_and_moves_the_localisation_net(tmp_path, data_dir):
    cfg = compose_cfg([
        *base_overrides(tmp_path, data_dir), "model=st_fcn_aff", "schedule.iterations=300",
        "schedule.lr_decay_every=1000", "schedule.eval_every=100", "schedule.batch_size=64",
    ])
    (final,) = train(cfg)  # 600 rotated digits, 32 epochs
    assert final["test_error"] < 60.0, final  # chance is 90 %
    rows = read_metrics(run_folder(tmp_path, "r", "st_fcn_aff"))
    assert float(rows[-1]["train_error"]) < 30.0, rows[-1]  # it fits its training digits
    state = torch.load(run_folder(tmp_path, "r", "st_fcn_aff") / "checkpoint.pt",
                       weights_only=True)["model"]
    torch.manual_seed(0)  # the trainer seeds each run's initial weights with its seed
    fresh = build_model("st_fcn_aff", 28, 32).state_dict()  # base_overrides' budget
    moved = [name for name in fresh if "spatial_transformer" in name
             and not torch.equal(fresh[name], state[name])]
    assert moved, "the localisation net did not learn (detached?)"


def test_redraw_train_changes_the_digits_each_epoch_and_not_the_labels(tmp_path, data_dir):
    cfg = compose_cfg([*base_overrides(tmp_path, data_dir), "data.redraw_train=true"])
    data = load_training_data(cfg, torch.device("cpu"))
    per_epoch = data.batches_per_epoch
    first, labels = data.train_batch([0], 0)
    fixed = load_split(cfg.data, data_dir, "train")
    index = data.batch_indices(0, 0)
    assert torch.equal(first[0], fixed["images"][index].float() / 255)  # epoch 0: the file
    second, labels_2 = data.train_batch([0], per_epoch)
    index_2 = data.batch_indices(0, per_epoch)
    assert torch.equal(labels_2[0], fixed["labels"][index_2])
    assert not torch.equal(second[0], fixed["images"][index_2].float() / 255)


@pytest.mark.parametrize("logger", [["logger=none"], ["logger=wandb", "logger.panels=false"]])
def test_no_panel_is_drawn_with_logger_none_or_panels_off(tmp_path, data_dir, monkeypatch,
                                                          logger):
    from stn.report import transforms_figure

    def no_figure(*args, **kwargs):
        raise AssertionError(f"a transformation panel was drawn with {logger}")

    monkeypatch.setattr(transforms_figure, "TransformsFigure", no_figure)
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = compose_cfg([*base_overrides(tmp_path, data_dir), "model=st_fcn_aff", *logger])
    train(cfg)
    folder = run_folder(tmp_path, "r", "st_fcn_aff")
    assert (folder / "final.json").exists()
    # logger=none opens no wandb run; panels=false still logs the scalars there
    assert (folder / "wandb").exists() == (cfg.logger.name == "wandb")
