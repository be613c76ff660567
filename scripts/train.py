"""Train one cell of Table 1 (or sweep many with -m). See configs/train.yaml.

A thin Hydra shell around stn.train.loop.train(cfg): bad input ends with one
line on stderr (trainer.debug=true shows the traceback); in a sweep, a job
that fails is reported and the next job runs.
"""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from stn.config import register_schemas
from stn.errors import UserError
from stn.train.loop import train

register_schemas()


@hydra.main(config_path="../configs", config_name="train", version_base="1.3")
def main(cfg):
    try:
        return train(cfg)
    except UserError as error:
        if cfg.trainer.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            return None  # the sweep goes on with its next job
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to resume", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
