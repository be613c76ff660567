"""Dataclass schemas behind the Hydra config groups.

The composed config is validated against :class:`TrainConfig`, so a misspelled
key or a value of the wrong type fails at composition, before any work starts.
Range checks that types cannot express live in ``DataConfig.check`` (the data
and its distortion schema) and in stn.train.validate.validate (the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, make_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from stn import registry
from stn.errors import ConfigError
from stn.models import DEFAULT_BUDGET

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class PathsConfig:
    data_dir: str = "data"  # generated datasets go to <data_dir>/distorted/<name>/
    mnist_dir: str | None = None  # local folder with the four IDX files (env MNIST_DIR)
    runs_dir: str = "runs"  # run folders: <runs_dir>/<data>/<model>/seed=<n>/
    results_dir: str = "results"


@dataclass
class DataConfig:
    name: str = MISSING  # a registered dataset (stn/registry.py): r | rts | p | e | tc
    image_size: int = MISSING  # canvas side in pixels
    train_seed: int = MISSING  # training distortions: epoch 0 from this seed, later epochs from it
    test_seed: int = MISSING  # and the epoch (stn/train/data.py); never the test seed
    # True (every profile): new distortions of every training digit each epoch, which the
    # paper's numbers need (results/README.md). False: one fixed distorted copy (ablation).
    redraw_train: bool = True
    # Hold out the last N training digits (a fixed distorted copy, train_seed) and evaluate
    # on them instead of the test set, which is then never loaded: for choosing readings and
    # schedules. 0: train on all 60k, evaluate on the test set.
    validation: int = 0
    limit: int | None = None  # generate only the first N digits of each split (tests)
    # The dataset's typed schema (stn/data/schemas.py) in each data_schema(name) subclass.
    distortion: Any = MISSING

    def check(self) -> None:
        """The rules types cannot express, the distortion's included (one-line ConfigError)."""
        if self.validation < 0:
            raise ConfigError(f"data.validation={self.validation} must be >= 0 "
                              "(0: evaluate on the test set)")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"data.limit must be null or >= 1, not {self.limit}")
        self.distortion.check(self.image_size)


@cache
def _data_schema(distortion_schema: type) -> type:
    fields_ = [("distortion", distortion_schema, field(default_factory=distortion_schema))]
    name = distortion_schema.__name__.replace("Distortion", "DataConfig")
    return make_dataclass(name, fields_, bases=(DataConfig,))


def data_schema(name: str) -> type:
    """The schema configs/data/<name>.yaml extends (its defaults list names <name>_schema):
    DataConfig whose ``distortion`` is the dataset's typed schema; ConfigError if unknown."""
    return _data_schema(registry.dataset(name).schema)


@dataclass
class ModelConfig:
    name: str = MISSING  # a registered model (stn/registry.py)
    # The parameter budget: the first-conv channels c of the CNN baseline (c, 2c) whose
    # parameter count every other network matches (stn/budget.py); one of stn.models.BUDGETS.
    budget: int = DEFAULT_BUDGET


@dataclass
class ScheduleConfig:
    name: str = MISSING
    iterations: int = MISSING
    batch_size: int = 256
    lr: float = 0.01  # the base (peak) learning rate
    shape: str = "step"  # step (the paper) | cosine | linear (stn/train/optim.py)
    lr_decay_every: int = 50_000  # step: lr is multiplied by lr_decay_factor every this many steps
    lr_decay_factor: float = 0.1
    warmup: int = 0  # iterations of linear lr warm-up from 0 (0: none, as in the paper)
    loc_lr_scale: float = 1.0  # the spatial transformer's lr over the classifier's (paper: 1)
    momentum: float = 0.9  # not stated by the paper; 0.9 was the era's default
    weight_decay: float = 0.0
    eval_every: int = 5_000  # iterations between test-error points of the curves
    eval_samples: int = 10_000  # test digits used for those points (final: always all)
    train_subset: int | None = None  # train on the first N digits only (tests)
    precision: str = "auto"  # auto | fp32 | bf16 (stn/precision.py); runs record the resolved one


@dataclass
class LoggerConfig:
    name: str = "wandb"  # wandb | none
    project: str = "stn-mnist"
    mode: str = "offline"  # offline | online | disabled (WANDB_MODE overrides)
    panels: bool = True  # an ST run logs a transformation panel at each evaluation


@dataclass
class TrainerConfig:
    device: str = "auto"  # auto | cpu | cuda
    n_seeds: int = 1  # train seeds seed .. seed+n_seeds-1 packed into one job
    checkpoint_every: int = 1_000
    max_minutes: float | None = None  # stop cleanly with a checkpoint before this budget
    nan_check_every: int = 100
    progress: bool = True
    threads: int | None = None  # torch CPU threads (None: torch's default)
    debug: bool = False  # show full tracebacks instead of one-line errors


@dataclass
class TrainConfig:
    paths: PathsConfig = field(default_factory=PathsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed: int = 0


def register_data_schemas() -> None:
    """The <name>_schema options of the data group that configs/data/<name>.yaml extend,
    and the data/<name> option of a dataset registered with a config instead of a YAML."""
    store = ConfigStore.instance()
    for name, spec in registry.datasets().items():
        store.store(group="data", name=f"{name}_schema", node=data_schema(name))
        if spec.config is not None:
            node = {"defaults": [f"{name}_schema", "_self_"], "name": name,
                    "image_size": spec.image_size, **spec.config}
            store.store(group="data", name=name, node=node)


def register_schemas() -> None:
    """The schemas and registry-derived options the configs need, before any compose."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    register_data_schemas()
    for name, spec in registry.models().items():
        if spec.config is not None:
            store.store(group="model", name=name, node={"name": name, **spec.config})
    # The experiment=table1 sweep lists every registered model and dataset.
    for key, names in (("stn.models", registry.model_names),
                       ("stn.datasets", registry.dataset_names)):
        OmegaConf.register_new_resolver(key, lambda names=names: ",".join(names()),
                                        replace=True)
    OmegaConf.register_new_resolver("stn.per_cell", per_cell, replace=True)


def per_cell(data: str, model: str, values: dict[str, Any]) -> Any:
    """``${stn.per_cell:${data.name},${model.name},{<key>: value, ...}}``: the value of the
    most specific key for this cell, ``<data>/<model>``, then ``<model>``, then
    ``default``, so one schedule can set a value for a model (the fast profile's longer
    FCN baseline) or a single cell (configs/schedule/fast.yaml). The resolved config, which
    is what a run records and is fingerprinted by, holds only the value chosen."""
    for key in (f"{data}/{model}", model, "default"):
        if key in values:
            return values[key]
    raise ConfigError(f"stn.per_cell: no value for data={data} model={model} in "
                      f"{dict(values)}: add a 'default' key")


def compose_train(overrides: Sequence[str] = ()) -> DictConfig:
    """configs/train.yaml with Hydra overrides, outside @hydra.main (scripts, tests)."""
    register_schemas()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))
