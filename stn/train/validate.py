"""Range checks on a composed config (types are already checked by the schema)."""

from __future__ import annotations

import torch
from omegaconf import OmegaConf
from omegaconf.errors import InterpolationResolutionError

from stn import registry
from stn.config import DataConfig
from stn.data.datasets import typed_data
from stn.errors import ConfigError, UserError
from stn.precision import PRECISIONS
from stn.train.optim import SHAPES

LOGGERS = ("wandb", "none")
DEVICES = ("auto", "cpu", "cuda")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _resolvable(cfg) -> None:
    """Every interpolation resolves; a resolver's own UserError (stn.per_cell without a
    key for the cell) surfaces as itself, any other failure as one line."""
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except InterpolationResolutionError as error:
        if isinstance(error.__cause__, UserError):
            raise error.__cause__ from None
        raise ConfigError(str(error).splitlines()[0]) from None


def validate(cfg) -> DataConfig:
    """Check the composed config; returns cfg.data typed onto its dataset's schema (the one
    merge of a run start), or raises a one-line ConfigError."""
    from stn.models import build_model  # builds once to check the name and the image size

    _resolvable(cfg)
    s, t = cfg.schedule, cfg.trainer
    registry.dataset(cfg.data.name)  # ConfigError for an unknown name
    _require(cfg.logger.name in LOGGERS,
             f"logger.name={cfg.logger.name!r}: choose one of {LOGGERS}")
    _require(t.device in DEVICES or t.device.startswith("cuda:"),
             f"trainer.device={t.device!r}: choose one of {DEVICES}")
    _require(not t.device.startswith("cuda") or torch.cuda.is_available(),
             f"trainer.device={t.device!r} but no CUDA device is available; use auto or cpu")
    for key in ("iterations", "batch_size", "lr_decay_every", "eval_every", "eval_samples"):
        _require(s[key] > 0, f"schedule.{key}={s[key]} must be positive")
    _require(s.lr > 0, f"schedule.lr={s.lr} must be positive")
    _require(0 <= s.momentum < 1, f"schedule.momentum={s.momentum} must be in [0, 1)")
    _require(s.weight_decay >= 0, f"schedule.weight_decay={s.weight_decay} must be >= 0")
    _require(0 < s.lr_decay_factor <= 1,
             f"schedule.lr_decay_factor={s.lr_decay_factor} must be in (0, 1]")
    _require(s.shape in SHAPES, f"schedule.shape={s.shape!r}: choose one of {SHAPES}")
    _require(0 <= s.warmup < s.iterations,
             f"schedule.warmup={s.warmup} must be in [0, schedule.iterations={s.iterations})")
    _require(s.loc_lr_scale > 0, f"schedule.loc_lr_scale={s.loc_lr_scale} must be positive")
    _require(s.precision in PRECISIONS,
             f"schedule.precision={s.precision!r}: choose one of {PRECISIONS}")
    _require(s.train_subset is None or s.train_subset >= s.batch_size,
             f"schedule.train_subset={s.train_subset} is smaller than one batch ({s.batch_size})")
    _require(cfg.seed >= 0, f"seed={cfg.seed} must be >= 0")
    data = typed_data(cfg.data)  # the dataset's schema and its checks, before any file is written
    _require(t.n_seeds >= 1, f"trainer.n_seeds={t.n_seeds} must be >= 1")
    _require(t.checkpoint_every > 0, f"trainer.checkpoint_every={t.checkpoint_every} must be > 0")
    _require(t.nan_check_every > 0, f"trainer.nan_check_every={t.nan_check_every} must be > 0")
    _require(t.max_minutes is None or t.max_minutes > 0,
             f"trainer.max_minutes={t.max_minutes} must be > 0")
    _require(t.threads is None or t.threads > 0, f"trainer.threads={t.threads} must be > 0")
    # ConfigError for a bad name, image size or budget
    build_model(cfg.model.name, cfg.data.image_size, cfg.model.budget)
    return data
