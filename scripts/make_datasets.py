"""Generate the distorted MNIST datasets (what `make data` runs).

    python scripts/make_datasets.py                      # all five: r rts p e tc
    python scripts/make_datasets.py rts tc data.limit=1000 paths.data_dir=/tmp/data

Arguments without "=" pick datasets; the others are Hydra overrides of the
training config (configs/train.yaml), so a dataset made here is the one a run
with the same overrides loads. Files that match their manifest are reused ("up
to date"); a dataset whose config changed, or whose files are missing or no
longer match their SHA-256, is regenerated: this script is the fix command.
It prints the time of each dataset and the total; `make bench` measures the
generators against a per-sample torchvision loop (results/bench.md).
"""

from __future__ import annotations

import sys
import time

from stn import registry
from stn.data.compose import compose_data
from stn.data.datasets import dataset_dir, generate_dataset, stale_reason
from stn.errors import UserError


def make_datasets(args: list[str]) -> None:
    names = [a for a in args if "=" not in a] or list(registry.dataset_names())
    overrides = [a for a in args if "=" in a]
    configs = [compose_data(name, overrides) for name in names]  # all bad input fails first
    start = time.perf_counter()
    for data, paths in configs:
        began = time.perf_counter()
        reason = stale_reason(data, paths.data_dir)
        if reason is None:
            status = "up to date"
        else:
            generate_dataset(data, paths.data_dir, paths.mnist_dir)
            status = f"generated ({reason})"
        elapsed = time.perf_counter() - began
        print(f"{data.name:>3}: {status} in {elapsed:.1f}s -> {dataset_dir(data, paths.data_dir)}")
    print(f"total: {time.perf_counter() - start:.1f}s for {len(configs)} dataset(s)")


def main() -> int:
    try:
        make_datasets(sys.argv[1:])
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
