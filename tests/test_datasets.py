"""Datasets on disk: layout, determinism to the byte, reuse vs regeneration, the manifest
checks of load_split, the redraw ablation, and the make_datasets script."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from stn import registry
from stn.config import DataConfig
from stn.data import datasets
from stn.data.compose import compose_data
from stn.data.datasets import (
    dataset_dir,
    ensure_dataset,
    generate_dataset,
    load_digits,
    load_split,
    redraw,
    stale_reason,
)
from stn.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[1]
LIMIT = 64


def small(name: str, *overrides: str):
    data, _ = compose_data(name, [f"data.limit={LIMIT}", *overrides])
    return data


@pytest.mark.parametrize("name", registry.dataset_names())
def test_layout_labels_and_manifest(name, tmp_path, mnist_dir, mnist_test):
    data = small(name)
    folder = ensure_dataset(data, tmp_path, mnist_dir)
    assert folder == dataset_dir(data, tmp_path)
    assert folder.parent == tmp_path / "distorted"
    assert folder.name.startswith(f"{name}-limit{LIMIT}-")  # never the full one
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["distortion"] == OmegaConf.to_container(data.distortion)
    assert manifest["seeds"] == {"train": data.train_seed, "test": data.test_seed}
    assert manifest["limit"] == LIMIT and manifest["torch_version"] == torch.__version__
    test = load_split(data, tmp_path, "test")
    size = data.image_size
    assert test["images"].shape == (LIMIT, 1, size, size) and test["images"].dtype == torch.uint8
    assert torch.equal(test["labels"], mnist_test[1][:LIMIT])  # MNIST order
    assert test["params"].shape == (LIMIT, len(test["param_names"]))
    assert test["param_names"] == manifest["param_names"]
    train = load_split(data, tmp_path, "train")
    assert train["labels"][:5].tolist() == [5, 0, 4, 1, 9]
    assert not torch.equal(train["params"], test["params"])  # own seed per split


def test_same_config_gives_byte_identical_files_and_is_reused(tmp_path, mnist_dir):
    data = small("rts")
    first = ensure_dataset(data, tmp_path / "a", mnist_dir)
    second = ensure_dataset(data, tmp_path / "b", mnist_dir)
    for name in ("train.pt", "test.pt", "manifest.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    stamps = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    assert stale_reason(data, tmp_path / "a") is None
    assert ensure_dataset(data, tmp_path / "a", mnist_dir) == first
    assert stamps == {p.name: p.stat().st_mtime_ns for p in first.iterdir()}  # reused


def test_variants_live_in_their_own_folders_and_a_missing_file_regenerates(tmp_path, mnist_dir):
    data = small("r")
    folder = ensure_dataset(data, tmp_path, mnist_dir)
    before = load_split(data, tmp_path, "train")["params"]
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    narrow = small("r", "data.distortion.angle=[-10.0,10.0]")
    assert dataset_dir(narrow, tmp_path) != folder
    assert stale_reason(narrow, tmp_path) == "not generated yet"
    narrow_folder = ensure_dataset(narrow, tmp_path, mnist_dir)
    after = load_split(narrow, tmp_path, "train")["params"]
    assert after.abs().max() <= 10 < before.abs().max()
    # The other variant's files were never touched.
    assert stamps == {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert stale_reason(data, tmp_path) is None
    (narrow_folder / "test.pt").unlink()
    assert stale_reason(narrow, tmp_path) == "test.pt is missing"
    ensure_dataset(narrow, tmp_path, mnist_dir)
    assert load_split(narrow, tmp_path, "test")["images"].shape[0] == LIMIT
    # Training-time switches do not change the files: the same folder serves them all.
    for switch in ("data.redraw_train=false", "data.validation=10"):
        assert dataset_dir(small("r", switch), tmp_path) == folder


def test_a_manifest_of_another_config_is_refused(tmp_path, mnist_dir):
    data = small("r")
    folder = ensure_dataset(data, tmp_path, mnist_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["config"]["distortion"]["angle"] = [-1.0, 1.0]  # hand-edited or a hash clash
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert stale_reason(data, tmp_path) == "config or generator changed"
    with pytest.raises(DataError, match="generated from another data config"):
        load_split(data, tmp_path, "train")
    ensure_dataset(data, tmp_path, mnist_dir)  # regenerated in place, whole
    assert stale_reason(data, tmp_path) is None
    assert not [p for p in folder.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_a_variant_already_put_in_place_by_another_process_is_kept(tmp_path, mnist_dir):
    data = small("p")
    folder = ensure_dataset(data, tmp_path, mnist_dir)
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    # Another process that found the variant missing generates it too: its rename loses.
    generate_dataset(data, tmp_path, mnist_dir)
    assert stamps == {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging left


def test_two_processes_needing_the_same_missing_variant_both_succeed(tmp_path):
    args = ["e", f"data.limit={LIMIT}", f"paths.data_dir={tmp_path}"]
    jobs = [subprocess.Popen([sys.executable, "scripts/make_datasets.py", *args], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for job in jobs:
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0, err
    data = small("e")
    assert stale_reason(data, tmp_path) is None
    assert [p.name for p in (tmp_path / "distorted").iterdir()] == [dataset_dir(data, "x").name]


def test_changed_file_fails_its_manifest_until_repaired(tmp_path, mnist_dir):
    data = small("tc")
    folder = ensure_dataset(data, tmp_path, mnist_dir)
    original = (folder / "train.pt").read_bytes()
    (folder / "train.pt").write_bytes(original[:-16] + bytes(16))
    expected = f"{folder / 'train.pt'}: SHA-256 does not match its manifest"
    with pytest.raises(DataError) as error:
        load_split(data, tmp_path, "train")
    assert str(error.value).startswith(expected) and "make data" in str(error.value)
    with pytest.raises(DataError, match="SHA-256 does not match"):
        ensure_dataset(data, tmp_path, mnist_dir)  # a run never silently replaces it
    ensure_dataset(data, tmp_path, mnist_dir, repair=True)
    assert (folder / "train.pt").read_bytes() == original


def test_missing_dataset_names_the_fix(tmp_path):
    with pytest.raises(DataError, match="run `make data`"):
        load_split(small("p"), tmp_path, "test")


def test_plain_dict_and_dataclass_configs_are_accepted(tmp_path):
    data = small("e")
    plain = OmegaConf.to_container(data)
    dataclass = DataConfig(**plain)
    assert dataset_dir(plain, tmp_path) == dataset_dir(dataclass, tmp_path)
    assert dataset_dir(data, tmp_path).name.startswith(f"e-limit{LIMIT}-")
    with pytest.raises(ConfigError, match="Key .sigm. not in .EDistortion."):
        dataset_dir({**plain, "distortion": {**plain["distortion"], "sigm": 1.0}}, tmp_path)
    with pytest.raises(ConfigError, match="data config"):
        dataset_dir({**plain, "seed": 3}, tmp_path)


def test_redraw_gives_fresh_distortions_and_reproduces_with_the_train_seed(tmp_path, mnist_dir):
    data = small("rts")
    ensure_dataset(data, tmp_path, mnist_dir)
    fixed = load_split(data, tmp_path, "train")
    digits, labels = load_digits(data, "train", mnist_dir)
    assert torch.equal(labels, fixed["labels"])
    images, params = redraw(data, digits, torch.Generator().manual_seed(data.train_seed))
    assert torch.equal(images, fixed["images"]) and torch.equal(params, fixed["params"])
    images, params = redraw(data, digits, torch.Generator().manual_seed(7))
    assert images.shape == fixed["images"].shape and not torch.equal(params, fixed["params"])


def make_datasets(*args: str):
    return subprocess.run(
        [sys.executable, "scripts/make_datasets.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_datasets_generates_reuses_and_repairs(tmp_path, mnist_dir):
    args = ["r", "tc", f"data.limit={LIMIT}", f"paths.data_dir={tmp_path}"]
    first = make_datasets(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("generated (not generated yet)") == 2 and "total:" in first.stdout
    train = dataset_dir(small("tc"), tmp_path) / "train.pt"
    original = train.read_bytes()
    train.write_bytes(b"not a dataset")
    second = make_datasets(*args)
    assert second.returncode == 0, second.stderr
    assert "r: up to date" in second.stdout
    assert "tc: generated (train.pt does not match its manifest)" in second.stdout
    assert train.read_bytes() == original  # deterministic: the repair restores the bytes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rotated"], "error: unknown dataset 'rotated': choose one of r, rts, p, e, tc"),
        (["r", "data.angle=3"], "error: config: Could not override 'data.angle'."),
        (["r", "data.distortion.angel=3"],
         "error: config: Could not override 'data.distortion.angel'"),
        (["r", "+data.distortion.angel=3"], "error: data config: Key 'angel' not in 'RDistortion'"),
        (["rts", "data.distortion.placement=fits"], "error: data rts: placement must be one of"),
    ],
)
def test_make_datasets_bad_input_is_one_error_line(args, message, monkeypatch, capsys):
    script = runpy.run_path(str(REPO / "scripts" / "make_datasets.py"))  # in-process: fast
    monkeypatch.setattr(sys, "argv", ["make_datasets.py", *args])
    assert script["main"]() == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err


def test_plot_datasets_writes_the_figure(tmp_path, monkeypatch, capsys):
    script = runpy.run_path(str(REPO / "scripts" / "plot_datasets.py"))
    args = [f"data.limit={LIMIT}", f"paths.data_dir={tmp_path}", f"paths.results_dir={tmp_path}"]
    monkeypatch.setattr(sys, "argv", ["plot_datasets.py", "r", "tc", *args])
    assert script["main"]() == 0, capsys.readouterr().err
    assert (tmp_path / "figures" / "datasets.png").stat().st_size > 10_000


def test_an_outdated_copy_set_aside_by_another_worker_first_is_replaced_whole(
        tmp_path, monkeypatch):
    """Two workers replace one outdated dataset folder at once: the one whose set-aside
    rename finds the folder already gone renames its own copy in, and no error escapes."""
    folder, staging = tmp_path / "r-123", tmp_path / "r-123.staging"
    for path, text in ((folder, "outdated"), (staging, "current")):
        path.mkdir()
        (path / "train.pt").write_text(text)
    calls = []

    def other_worker_sets_it_aside(data_cfg, data_dir):
        calls.append(1)
        if len(calls) == 1:  # the other worker renames the outdated folder away now
            os.rename(folder, tmp_path / "r-123.old-other")
            return "outdated"
        return None

    monkeypatch.setattr(datasets, "stale_reason", other_worker_sets_it_aside)
    datasets._move_into_place(None, tmp_path, staging, folder)
    assert (folder / "train.pt").read_text() == "current" and not staging.exists()
