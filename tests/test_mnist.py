"""MNIST acquisition: shapes and order, gzip or raw files, and one-line errors for a
missing or corrupt copy (also from the make_datasets script, without a traceback)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stn.data.mnist import SHA256, load_mnist
from stn.errors import DataError

REPO = Path(__file__).resolve().parents[1]
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def test_splits_have_mnist_shapes_dtypes_and_order(mnist_dir, mnist_test):
    images, labels = mnist_test
    assert images.shape == (10_000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (10_000,) and labels.dtype == torch.int64
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the published test order
    train_images, train_labels = load_mnist("train", mnist_dir)
    assert train_images.shape == (60_000, 28, 28)
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert torch.bincount(train_labels).tolist()[:2] == [5923, 6742]


def copy_test_files(mnist_dir: Path, folder: Path, raw: bool = False) -> Path:
    folder.mkdir()
    for stem in TEST_FILES:
        content = (mnist_dir / f"{stem}.gz").read_bytes()
        if raw:
            (folder / stem).write_bytes(gzip.decompress(content))
        else:
            (folder / f"{stem}.gz").write_bytes(content)
    return folder


def test_raw_idx_files_read_like_gzip(tmp_path, mnist_dir, mnist_test):
    images, labels = load_mnist("test", copy_test_files(mnist_dir, tmp_path / "raw", raw=True))
    assert torch.equal(images, mnist_test[0]) and torch.equal(labels, mnist_test[1])


def test_missing_file_names_it_and_the_fix(tmp_path, mnist_dir):
    folder = copy_test_files(mnist_dir, tmp_path / "mnist")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as error:
        load_mnist("test", folder)
    message = str(error.value)
    assert str(folder / "t10k-labels-idx1-ubyte.gz") in message and "missing" in message
    assert "MNIST_DIR" in message and "\n" not in message


def test_flipped_byte_fails_the_checksum(tmp_path, mnist_dir):
    folder = copy_test_files(mnist_dir, tmp_path / "mnist")
    target = folder / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(target.read_bytes()))
    content[100] ^= 0x01  # a label, not the header: only the checksum can tell
    target.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        load_mnist("test", folder)


def test_truncated_gzip_is_a_data_error_not_a_traceback(tmp_path, mnist_dir):
    folder = copy_test_files(mnist_dir, tmp_path / "mnist")
    target = folder / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-100])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz cannot be read"):
        load_mnist("test", folder)


def test_download_failure_is_one_line(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried mirrors")

    monkeypatch.setattr("torchvision.datasets.MNIST", offline)
    with pytest.raises(DataError) as error:
        load_mnist("train", None, download_root=tmp_path)
    assert "could not download MNIST" in str(error.value) and "\n" not in str(error.value)


def test_make_datasets_with_a_bad_mnist_dir_exits_with_one_error_line(tmp_path):
    env = {**os.environ, "MNIST_DIR": str(tmp_path / "nowhere")}
    result = subprocess.run(
        [sys.executable, "scripts/make_datasets.py", "r", f"paths.data_dir={tmp_path}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: MNIST file"), result.stderr
    assert "nowhere" in lines[0]


def test_a_download_lands_whole_and_is_read_like_a_local_copy(tmp_path, mnist_dir, monkeypatch):
    """torchvision writes into a staging folder; the files are renamed into place, so a
    job that starts meanwhile never sees a half-written file, and the next call finds
    them and downloads nothing."""
    calls = []

    def fake_mnist(root, train, download):  # what torchvision leaves: <root>/MNIST/raw/<stem>
        calls.append(Path(root))
        raw = Path(root) / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for stem in SHA256:
            source = Path(mnist_dir) / f"{stem}.gz"
            (raw / stem).write_bytes(gzip.decompress(source.read_bytes()))

    monkeypatch.setattr("torchvision.datasets.MNIST", fake_mnist)
    root = tmp_path / "mnist"
    images, labels = load_mnist("test", None, download_root=root)
    assert images.shape == (10_000, 28, 28) and labels.shape == (10_000,)
    assert len(calls) == 1 and calls[0].parent == tmp_path and calls[0] != root
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist"]  # no staging left
    assert torch.equal(load_mnist("test", None, download_root=root)[0], images)
    assert len(calls) == 1  # found in place: no second download
