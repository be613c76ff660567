"""Compose the data and paths configs for the dataset scripts, through Hydra.

The scripts compose the training entry config (configs/train.yaml) with
``data=<name>``, so they read the same files, the same schema (stn.config) and
the same override grammar as training (``data.limit=100 paths.data_dir=/tmp/x``):
one config system, and a dataset made here is the one a run with the same
overrides loads.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from stn import registry
from stn.config import compose_train
from stn.errors import ConfigError


def compose_data(name: str, overrides: Sequence[str] = ()) -> tuple[DictConfig, DictConfig]:
    """(data, paths) configs for dataset ``name`` with Hydra ``overrides`` applied."""
    registry.dataset(name)  # ConfigError for an unknown name
    chosen = [o for o in overrides if o.lstrip("+~").startswith("data=")]
    if chosen:
        raise ConfigError(f"{chosen[0]}: name the datasets as arguments instead (e.g. `r rts`)")
    try:
        cfg = compose_train([f"data={name}", *overrides])
        # Touch the values the scripts use, so a bad interpolation fails here, as one line.
        _ = (cfg.paths.data_dir, cfg.paths.mnist_dir, dict(cfg.data))
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"config: {_one_line(error)}") from None
    return cfg.data, cfg.paths


def _one_line(error: BaseException) -> str:
    """First line of the error, plus that of its cause (Hydra puts the key name there)."""
    lines = [
        str(e).strip().splitlines()[0] for e in (error, error.__cause__) if e and str(e).strip()
    ]
    return " ".join(lines) or repr(error)
