"""One registry of the table's models and datasets, in the spirit of timm's register_model.

Everything that lists models or datasets reads it: ``build_model``, the data
generators, the Hydra config groups and the ``experiment=table1`` sweep (through
the ``${stn.models:}`` / ``${stn.datasets:}`` resolvers of stn.config), the
report's rows, columns, labels, paper numbers and colours, the bench, the
estimate and the tests. The eight networks and five datasets of the paper are
declared in stn/catalog.py; a plugin or a test adds one more with
:func:`register_model` / :func:`register_dataset`, and it then appears in all
of those with no other edit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stn.errors import ConfigError

BACKBONES = ("fcn", "cnn")


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the config name: model=<name>
    label: str  # the report's row label
    backbone: str  # "fcn" | "cnn": the classifier, and the localisation net of its ST
    transform: str | None  # a stn.generators name (aff, proj, tps); None: no ST
    # model.budget -> image size -> free width (FCN hidden units, CNN first-conv channels);
    # None: the budget rule of stn.budget computes it when the model is built.
    widths: Mapping[int, Mapping[int, int]] | None = None
    paper: Mapping[str, float] = field(default_factory=dict)  # dataset -> the paper's % error
    # dataset -> where that number comes from, where it is not the dataset's paper_source
    paper_sources: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] | None = None  # the model/<name> option if no YAML declares it

    @property
    def color_key(self) -> str:
        """Models sharing a key share a colour in the figures: the transform, else the
        backbone."""
        return self.transform or self.backbone


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the config name: data=<name>
    label: str  # the report's column label
    image_size: int  # the canvas side of its config
    schema: type  # stn.data.schemas dataclass: the keys of `distortion:` and their checks
    names: Callable  # (distortion) -> column names of params
    draw: Callable  # (n, generator, distortion, image_size) -> float32 (n, k) on the CPU
    render: Callable  # (digits, rows, params, distortion, image_size) -> uint8 (m, 1, S, S)
    paper_source: str = "table 1"  # where the paper's numbers for this column come from
    # the data/<name> option (keys of stn.config.DataConfig) if no YAML declares it
    config: Mapping[str, Any] | None = None


_MODELS: dict[str, ModelSpec] = {}
_DATASETS: dict[str, DatasetSpec] = {}
_builtins_loaded = False


def register_model(spec: ModelSpec) -> ModelSpec:
    _load_builtins()  # the paper's rows come first, whoever registers first
    if spec.backbone not in BACKBONES:
        raise ConfigError(f"model {spec.name!r}: backbone must be one of {BACKBONES}")
    return _register(_MODELS, spec)


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    _load_builtins()
    return _register(_DATASETS, spec)


def unregister(name: str) -> None:
    """Remove a model or dataset registered outside stn/catalog.py (tests)."""
    _MODELS.pop(name, None)
    _DATASETS.pop(name, None)


def models() -> dict[str, ModelSpec]:
    """Every registered model, in the table's row order (the order of registration)."""
    _load_builtins()
    return dict(_MODELS)


def datasets() -> dict[str, DatasetSpec]:
    """Every registered dataset, in the table's column order."""
    _load_builtins()
    return dict(_DATASETS)


def model_names() -> tuple[str, ...]:
    return tuple(models())


def dataset_names() -> tuple[str, ...]:
    return tuple(datasets())


def model(name: str) -> ModelSpec:
    specs = models()
    if name not in specs:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(specs)}")
    return specs[name]


def dataset(name: str) -> DatasetSpec:
    specs = datasets()
    if name not in specs:
        raise ConfigError(f"unknown dataset {name!r}: choose one of {', '.join(specs)}")
    return specs[name]


def _register(table: dict, spec):
    if spec.name in table and table[spec.name] != spec:
        raise ConfigError(f"{spec.name!r} is already registered with another spec")
    table[spec.name] = spec
    return spec


def _load_builtins() -> None:
    # Imported on first use, not at the top: the catalog imports the data generators,
    # which read this registry.
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        import stn.catalog  # noqa: F401
