"""Shared fixtures: the local MNIST copy, small slices of it, a session data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _report_helpers import write_run

from stn.data.compose import compose_data
from stn.data.datasets import ensure_dataset
from stn.data.mnist import DOWNLOAD_ROOT, load_mnist
from stn.errors import DataError

# data.limit of the trainer tests (tests/_train_helpers.py): the `data_dir` fixture holds
# R at this size, so tests that copy the folder find a dataset in it.
TRAINER_LIMIT = 600


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """MNIST_DIR, or else the copy torchvision downloads into data/mnist (needs internet)."""
    value = os.environ.get("MNIST_DIR")
    if value:
        return Path(value)
    root = Path(__file__).resolve().parents[1] / DOWNLOAD_ROOT
    try:
        load_mnist("test", None, root)
        load_mnist("train", None, root)
    except DataError as error:
        pytest.fail(f"{error} (or export MNIST_DIR=<folder with the four MNIST IDX files>)",
                    pytrace=False)
    os.environ["MNIST_DIR"] = str(root / "MNIST" / "raw")  # for the scripts the tests run
    return root / "MNIST" / "raw"


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    """The 10k MNIST test digits uint8 (N, 28, 28) and labels, read once per session."""
    return load_mnist("test", mnist_dir)


@pytest.fixture(scope="session")
def digits(mnist_test):
    """A small slice of real digits for the generator tests."""
    return mnist_test[0][:128].clone()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, mnist_dir) -> Path:
    """A session data folder holding R at the trainer tests' limit; other datasets are
    generated there on first use (ensure_dataset)."""
    folder = tmp_path_factory.mktemp("data")
    data, _ = compose_data("r", [f"data.limit={TRAINER_LIMIT}"])
    ensure_dataset(data, folder, mnist_dir)
    return folder


@pytest.fixture
def synthetic_runs(tmp_path: Path) -> Path:
    """Run folders of every state (complete, partial, failed, unfinished) in two profiles."""
    root = tmp_path / "runs"
    for seed, error in enumerate((1.0, 2.0, 4.0)):  # full cell: 3 seeds
        write_run(root, "quick", "r", "st_cnn_aff", seed, "complete", error)
    write_run(root, "quick", "r", "cnn", 0, "complete", 1.5)  # partial: one still running
    write_run(root, "quick", "r", "cnn", 1, "running")
    write_run(root, "quick", "rts", "fcn", 0, "failed")  # failed cell
    write_run(root, "quick", "rts", "fcn", 1, "failed")
    write_run(root, "quick", "p", "fcn", 0, "stopped")  # unfinished cell
    write_run(root, "smoke", "r", "fcn", 0, "complete", 50.0, iterations=2)
    return root
