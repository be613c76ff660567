"""The training and test sets, resident on the training device.

The whole distorted dataset is a few tens of MB of uint8, so it lives on the
device and each batch is one gather, converted to float there: no DataLoader,
no per-sample Python. The data order is a pure function of (seed, iteration),
so a resumed run sees exactly the batches it would have seen. With
data.redraw_train (the default) the training digits are distorted anew at the
start of every epoch after the first, a pure function of (train_seed, epoch):
the packed seeds of one cell see the same distortions in their own orders.

data.validation = N holds out the last N training digits, distorted once
(the file's epoch-0 copy, like the fixed test set), and evaluates on them;
the test set is then not even loaded, so a choice made on these numbers
cannot be a test-set selection.
"""

from __future__ import annotations

from pathlib import Path

import torch

from stn.config import DataConfig
from stn.data.datasets import ensure_dataset, load_digits, load_split, redraw, typed_data
from stn.errors import ConfigError


def mix_seed(seed: int, epoch: int) -> int:
    """One seed per (seed, epoch): distinct for every epoch below 1,000,003."""
    return seed * 1_000_003 + epoch


def epoch_seed(data_cfg, epoch: int) -> int:
    """The seed of one epoch's training distortions: epoch 0 is the file on disk (drawn
    with train_seed itself), later epochs their own seed, never a dataset's test seed."""
    return data_cfg.train_seed if epoch == 0 else mix_seed(data_cfg.train_seed, epoch)


def epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(mix_seed(seed, epoch))
    return torch.randperm(n, generator=generator)


class TrainingData:
    def __init__(self, train: dict, evaluation: dict, batch_size: int, subset: int | None, device,
                 redraw_epoch=None, eval_split: str = "test"):
        n = len(train["labels"]) if subset is None else min(subset, len(train["labels"]))
        self.train_images = train["images"][:n].to(device)
        self.train_labels = train["labels"][:n].to(device)
        self.eval_images = evaluation["images"].to(device)
        self.eval_labels = evaluation["labels"].to(device)
        self.n_eval = len(self.eval_labels)
        self.eval_split = eval_split  # "test", or "val" (held-out training digits)
        self.batch_size = batch_size
        self.batches_per_epoch = n // batch_size  # the last partial batch of an epoch is dropped
        if self.batches_per_epoch == 0:
            raise ConfigError(
                f"schedule.batch_size={batch_size} is larger than the {n} training digits"
            )
        self.device = device
        self._redraw_epoch = redraw_epoch  # epoch -> freshly distorted uint8 training images
        self._epoch = 0  # the epoch whose distortions train_images holds
        self._permutations: dict[tuple[int, int], torch.Tensor] = {}

    def batch_indices(self, seed: int, iteration: int) -> torch.Tensor:
        epoch, position = divmod(iteration, self.batches_per_epoch)
        key = (seed, epoch)
        if key not in self._permutations:
            self._permutations = {k: v for k, v in self._permutations.items() if k[1] >= epoch}
            n = self.batches_per_epoch * self.batch_size
            perm = epoch_permutation(seed, epoch, len(self.train_labels))[:n]
            self._permutations[key] = perm.to(self.device)
        lo = position * self.batch_size
        return self._permutations[key][lo:lo + self.batch_size]

    def train_batch(self, seeds: list[int], iteration: int):
        """Images (K, B, 1, H, W) in [0, 1] and labels (K, B): one batch per packed run."""
        epoch = iteration // self.batches_per_epoch
        if self._redraw_epoch is not None and epoch != self._epoch:
            images = self._redraw_epoch(epoch)
            self.train_images = images[: len(self.train_labels)].to(self.device)
            self._epoch = epoch
        index = torch.cat([self.batch_indices(seed, iteration) for seed in seeds])
        shape = (len(seeds), self.batch_size)
        # index_select: one gather, far cheaper than advanced indexing on a CPU.
        images = self.train_images.index_select(0, index).view(*shape, *self.train_images.shape[1:])
        labels = self.train_labels.index_select(0, index).view(shape)
        return images.float().div_(255), labels


def split_validation(train: dict, n_val: int) -> tuple[dict, dict]:
    """(the first len - n_val training digits, the last n_val) of a loaded train split."""
    n = len(train["labels"]) - n_val
    if n_val < 1 or n < 1:
        raise ConfigError(f"data.validation={n_val} must be in [1, {len(train['labels']) - 1}]")
    head = {key: train[key][:n] for key in ("images", "labels")}
    tail = {key: train[key][n:] for key in ("images", "labels")}
    return head, tail


def load_training_data(cfg, device, data: DataConfig | None = None) -> TrainingData:
    """The run's training and evaluation data on ``device``. ``data``: cfg.data already
    typed (what validate returns), so it is only checked again, not merged again."""
    data = typed_data(cfg.data if data is None else data)  # typed once for all the loading
    ensure_dataset(data, cfg.paths.data_dir, cfg.paths.mnist_dir)
    train = load_split(data, cfg.paths.data_dir, "train")
    n_val = data.validation
    if n_val:
        train, evaluation = split_validation(train, n_val)
    else:
        evaluation = load_split(data, cfg.paths.data_dir, "test")
    redraw_epoch = None
    if data.redraw_train:
        download_root = Path(cfg.paths.data_dir) / "mnist"  # where generate_dataset puts it
        digits, _ = load_digits(data, "train", cfg.paths.mnist_dir, download_root)
        # Never the held-out validation digits; on the training device, so a GPU renders
        # each epoch's distortions itself (the parameters are drawn on the CPU either way).
        digits = digits[: len(train["labels"])].to(device)

        def redraw_epoch(epoch: int) -> torch.Tensor:
            generator = torch.Generator().manual_seed(epoch_seed(data, epoch))
            return redraw(data, digits, generator)[0]

    return TrainingData(train, evaluation, cfg.schedule.batch_size, cfg.schedule.train_subset,
                        device, redraw_epoch, "val" if n_val else "test")
