"""Dataclass schema of configs/bench.yaml, so a misspelled key or a wrong type fails at
composition. The values live in the YAML alone (MISSING here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from stn.config import DataConfig, PathsConfig, ScheduleConfig, register_data_schemas


@dataclass
class ThroughputConfig:
    n_images: int = MISSING  # synthetic uint8 images held by both loops
    warmup: int = MISSING  # untimed steps per loop (allocator, thread pools, lazy init)
    blocks: int = MISSING  # timed blocks per loop; the loops alternate block by block
    steps_per_block: int = MISSING
    reference_workers: int = MISSING  # DataLoader worker processes of the reference loop
    packed_runs: int = MISSING  # K of the packed measurement
    packed_sizes: list[int] = MISSING  # image sizes that get it


@dataclass
class DatagenConfig:
    limit: int | None = MISSING  # digits per split; None: all 60k train + 10k test
    loop_samples: int = MISSING  # digits per dataset through the per-sample loop
    repeats: int = MISSING  # timed repeats of each side, alternating (median)


@dataclass
class PanelsConfig:
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)  # the run costed
    count: int = MISSING  # panels timed per ST model (the first also builds the figure)


@dataclass
class BenchConfig:
    paths: PathsConfig = field(default_factory=PathsConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    datasets: dict[str, DataConfig] = field(default_factory=dict)
    device: str = MISSING  # auto | cpu | cuda
    threads: int | None = MISSING  # torch CPU threads (None: torch's default)
    out_dir: str = MISSING
    models: list[str] | None = MISSING  # None: every registered model (stn/registry.py)
    image_sizes: list[int] | None = MISSING  # None: every size of stn.models.IMAGE_SIZES
    throughput: ThroughputConfig = field(default_factory=ThroughputConfig)
    datagen: DatagenConfig = field(default_factory=DatagenConfig)
    panels: PanelsConfig = field(default_factory=PanelsConfig)


def register_schema() -> None:
    ConfigStore.instance().store(name="bench_schema", node=BenchConfig)
    register_data_schemas()  # the datasets' own data configs extend them
