"""Shared fixtures: the local MNIST copy, small slices of it, a session data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stn.data.compose import compose_data
from stn.data.datasets import ensure_dataset
from stn.data.mnist import load_mnist

# data.limit of the trainer tests (tests/_train_helpers.py): the `data_dir` fixture holds
# R at this size, so tests that copy the folder find a dataset in it.
TRAINER_LIMIT = 600


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    value = os.environ.get("MNIST_DIR")
    if not value:
        pytest.fail(
            "MNIST_DIR is not set: export MNIST_DIR=<folder with the four MNIST IDX files> "
            "(CI: ../shared/mnist relative to the repo)",
            pytrace=False,
        )
    return Path(value)


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
