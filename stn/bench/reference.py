"""The reference: a training loop in the style of the PyTorch STN tutorial.

A torch.utils.data.DataLoader (shuffle, fixed batch) over a Dataset that
returns one sample at a time, converting it from uint8 to float as
torchvision's datasets do, then an eager nn.Module from build_model, fp32,
cross-entropy and SGD with momentum. The per-sample conversion stays on
tensors (no PIL round trip as in torchvision's MNIST), which makes the
reference a little faster than the tutorial and the comparison conservative.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from stn.models import build_model


class UInt8Images(Dataset):
    """uint8 (N, 1, H, W) images and int64 labels, one float sample at a time."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index].float().div(255), self.labels[index]


class ReferenceLoop:
    """``step()`` runs one tutorial-style iteration: next batch, to device, SGD step."""

    def __init__(self, model_name: str, image_size: int, images, labels, schedule, workers, device):
        torch.manual_seed(0)
        self.model = build_model(model_name, image_size).to(device)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=schedule.lr, momentum=schedule.momentum
        )
        self.loader = DataLoader(
            UInt8Images(images, labels),
            batch_size=schedule.batch_size,
            shuffle=True,
            drop_last=True,  # every timed step sees the same batch size
            num_workers=workers,
            persistent_workers=workers > 0,
        )
        self.batches = iter(self.loader)
        self.device = device

    def _next_batch(self):
        try:
            return next(self.batches)
        except StopIteration:  # a new epoch, as in a real run (timed, like the trainer's)
            self.batches = iter(self.loader)
            return next(self.batches)

    def step(self) -> torch.Tensor:
        images, labels = self._next_batch()
        images, labels = images.to(self.device), labels.to(self.device)
        loss = F.cross_entropy(self.model(images), labels)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.detach()
