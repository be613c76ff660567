"""Throughput benchmark on the present device (CPU or CUDA): results/bench.{json,md}.

A thin Hydra shell around stn.bench.run.bench(cfg); see configs/bench.yaml.
    python scripts/bench.py                             # `make bench`
    python scripts/bench.py bench=tiny out_dir=/tmp/b   # smoke size
"""

import hydra

from stn.bench.config import register_schema
from stn.bench.run import bench

register_schema()


@hydra.main(config_path="../configs", config_name="bench", version_base="1.3")
def main(cfg):
    bench(cfg)


if __name__ == "__main__":
    main()
