"""Several runs of one architecture trained in a single step.

The K runs (one per seed) share the model code: their parameters are stacked
along a leading dimension and the forward pass is vmapped over it, so K small
networks become one larger batched computation (what a GPU needs to be busy)
with no second implementation of the maths. Runs stay independent: the loss
is a sum of per-run losses, so each run's gradient is its own, and SGD is
elementwise, so each slice of the stacked optimiser state is that run's state.
K = 1 is the ordinary single run through the same path. ``precision``
("fp32" or "bf16", see stn.precision) sets the autocast of the forward pass;
logits come out fp32 either way.
"""

from __future__ import annotations

import copy

import torch
from torch.func import functional_call, stack_module_state, vmap

from stn.models import DEFAULT_BUDGET, build_model
from stn.precision import autocast


def _channels_last(stacked: torch.Tensor) -> torch.Tensor:
    """Lay out stacked conv weights (K, O, I, kh, kw) so each run's slice is channels_last.

    oneDNN (CPU) and cuDNN convolutions run faster on channels_last weights, and
    a channels_last weight makes the convolution's output channels_last, which
    max-pooling on the CPU also needs to be fast (make bench). The strides are
    set explicitly: for one input channel, ``.contiguous(memory_format=...)``
    sees nothing to change and would keep the NCHW strides. Only the memory
    layout changes, never a value; optimiser state and gradients follow it.
    """
    if stacked.dim() != 5:
        return stacked
    k, o, i, h, w = stacked.shape
    strides = (o * h * w * i, h * w * i, 1, w * i, i)
    return torch.empty_strided(stacked.shape, strides, dtype=stacked.dtype,
                               device=stacked.device).copy_(stacked)


class PackedRuns:
    def __init__(
        self, model_name: str, image_size: int, seeds: list[int], device, precision: str = "fp32",
        budget: int = DEFAULT_BUDGET,
    ):
        models = []
        for seed in seeds:
            torch.manual_seed(seed)  # each run's initial weights depend on its seed alone
            models.append(build_model(model_name, image_size, budget))
        # A weightless copy supplies the code; the stacked tensors supply the state.
        self.template = copy.deepcopy(models[0]).to("meta")
        params, buffers = stack_module_state(models)
        self.params = {
            k: _channels_last(v.detach().to(device)).requires_grad_() for k, v in params.items()
        }
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        # What a checkpoint holds: the parameters (buffers are rebuilt from the code).
        self.state_names = list(models[0].state_dict())
        self.seeds = list(seeds)
        self.precision = precision
        self.n_params = sum(p[0].numel() for p in self.params.values())

    def _forward_one(self, params, buffers, images):
        return functional_call(self.template, (params, buffers), (images,), {"return_theta": True})

    def forward(self, images: torch.Tensor, shared_input: bool = False):
        """images (K, B, 1, H, W), or (B, 1, H, W) fed to every run when shared_input.

        Returns fp32 logits (K, B, 10) and transform parameters theta (K, B, P).
        """
        with autocast(self.precision, images.device.type):
            logits, theta = self._forward_all(images, shared_input)
        return logits.float(), theta

    def _forward_all(self, images: torch.Tensor, shared_input: bool):
        if len(self.seeds) == 1:
            # One run needs no batching transform (vmap adds overhead to every step):
            # the same functional model on views of the stacked state.
            params = {name: p[0] for name, p in self.params.items()}
            buffers = {name: b[0] for name, b in self.buffers.items()}
            batch = images if shared_input else images[0]
            logits, theta = self._forward_one(params, buffers, batch)
            return logits[None], theta[None]
        in_dims = (0, 0, None if shared_input else 0)
        return vmap(self._forward_one, in_dims=in_dims)(self.params, self.buffers, images)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Run k's weights as an ordinary state_dict of build_model(name, size)."""
        tensors = {**self.params, **self.buffers}
        return {name: tensors[name][k].detach().clone() for name in self.state_names}

    @torch.no_grad()
    def load_state_dict(self, k: int, state: dict[str, torch.Tensor]) -> None:
        tensors = {**self.params, **self.buffers}
        for name in self.state_names:
            tensors[name][k].copy_(state[name])
