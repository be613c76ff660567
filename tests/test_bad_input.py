"""Issue 7, point 4: every bad input ends with a clear one-line error, a non-zero
exit, no traceback, and nothing in the run folder that looks complete."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest
from _train_helpers import base_overrides, run_folder, run_script

from stn.train.run_folder import write_status


def _assert_clean_failure(result, tmp_path, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    text = result.stderr + result.stdout
    for needle in needles:
        assert needle in text, text
    assert not list((tmp_path / "runs").rglob("final.json")), "a failed run looks complete"
    for status in (tmp_path / "runs").rglob("status.json"):
        assert json.loads(status.read_text())["status"] != "complete"


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("schedule.learnig_rate=0.1", ["learnig_rate"]),  # unknown key
        ("model=st_cnn_afine", ["st_cnn_aff", "st_fcn_tps"]),  # misspelled name: lists choices
        ("data=rotated", ["rts", "tc"]),
        ("schedule.batch_size=big", ["batch_size"]),  # wrong type
        ("schedule.lr=-0.01", ["error: schedule.lr=-0.01 must be positive"]),
        ("schedule.batch_size=0", ["error: schedule.batch_size=0 must be positive"]),
        ("data.image_size=33", ["error:", "33"]),  # no model takes 33x33 images
        ("model.name=resnet", ["error:", "resnet", "st_cnn_aff"]),
        ("schedule.precision=fp16", ["error: schedule.precision='fp16'", "bf16"]),
    ],
)
def test_bad_config_values(tmp_path, data_dir, override, needles):
    result = run_script([*base_overrides(tmp_path, data_dir), override])
    _assert_clean_failure(result, tmp_path, *needles)
    if "error:" in needles[0]:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (["data=p", "data.distortion.sigma_is=var"],
         "error: data p: sigma_is must be one of ['std', 'variance'], not 'var'"),
        (["data=rts", "data.distortion.placement=anywhere"],
         "error: data rts: placement must be one of ['range', 'fit'], not 'anywhere'"),
        (["data=e", "data.distortion.sigma=-1"], "error: data e: sigma must be >= 0, not -1"),
        (["model.budget=48"], "error: model.budget=48: choose one of 32, 64"),
        (["data.validation=-1"], "error: data.validation=-1 must be >= 0"),
        (["seed=-1"], "error: seed=-1 must be >= 0"),
    ],
)
def test_bad_reading_options_fail_before_anything_is_written(tmp_path, data_dir, overrides,
                                                              needle):
    result = run_script([*base_overrides(tmp_path, data_dir), *overrides])
    _assert_clean_failure(result, tmp_path, needle)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists(), "a run folder was written"


def _mnist_copy(tmp_path, mnist_dir):
    folder = tmp_path / "mnist"
    shutil.copytree(mnist_dir, folder)
    return folder


def test_missing_mnist_file(tmp_path, mnist_dir):
    folder = _mnist_copy(tmp_path, mnist_dir)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    args = [*base_overrides(tmp_path, tmp_path / "data"), f"paths.mnist_dir={folder}"]
    _assert_clean_failure(run_script(args), tmp_path, "error:", "train-labels-idx1-ubyte")


def test_corrupt_mnist_file(tmp_path, mnist_dir):
    folder = _mnist_copy(tmp_path, mnist_dir)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[100] ^= 0xFF
    target.write_bytes(gzip.compress(bytes(raw)))
    args = [*base_overrides(tmp_path, tmp_path / "data"), f"paths.mnist_dir={folder}"]
    _assert_clean_failure(run_script(args), tmp_path, "error:", "t10k-labels-idx1-ubyte")


def test_dataset_file_changed_after_its_manifest(tmp_path, data_dir):
    local = tmp_path / "data"
    shutil.copytree(data_dir, local)
    (train_file,) = local.rglob("r*/train.pt")
    train_file.write_bytes(train_file.read_bytes()[:-16] + bytes(16))
    result = run_script(base_overrides(tmp_path, local))
    _assert_clean_failure(result, tmp_path, "error:", "SHA-256")


def test_checkpoint_from_a_different_config(tmp_path, data_dir):
    assert run_script(base_overrides(tmp_path, data_dir)).returncode == 0
    folder = run_folder(tmp_path, "r", "cnn")
    (folder / "final.json").unlink()  # leave only the checkpoint: a resumable run
    write_status(folder, "stopped", 10, "interrupted")
    result = run_script([*base_overrides(tmp_path, data_dir), "schedule.momentum=0.5"])
    _assert_clean_failure(result, tmp_path, "error:", "different config")


def test_unwritable_output_folder(tmp_path, data_dir):
    blocker = tmp_path / "runs"
    blocker.parent.mkdir(exist_ok=True)
    blocker.write_text("a file where the runs folder should be")
    args = [*base_overrides(tmp_path, data_dir)]
    result = run_script(args)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "error: cannot write the run folder" in result.stderr, result.stderr
