"""Train one cell of Table 1 (or sweep many with -m). See configs/train.yaml.

A thin Hydra shell around stn.train.loop.train(cfg): bad input ends with one
line on stderr (trainer.debug=true shows the traceback); in a sweep, a job
that fails is reported and the next job runs.
"""

import signal
import sys
import threading

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from stn.config import register_schemas
from stn.errors import UserError
from stn.train.loop import train

register_schemas()


def job_time_limit() -> float | None:
    """The launcher's time limit per job in minutes (submitit: hydra.launcher.timeout_min),
    or None (the basic and joblib launchers set none)."""
    return HydraConfig.get().launcher.get("timeout_min")


def stop_on_sigterm() -> None:
    """`kill`, `timeout` or a container stop sends SIGTERM: handled as Ctrl-C, so the run
    is marked stopped at its last checkpoint and its lock freed, instead of dying with
    "running" in its status.json. A launcher's own handler (submitit's) stays."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
        signal.signal(signal.SIGTERM, signal.default_int_handler)


@hydra.main(config_path="../configs", config_name="train", version_base="1.3")
def main(cfg):
    stop_on_sigterm()
    limit = job_time_limit()
    if cfg.trainer.max_minutes is None and limit:
        # Stop cleanly with a checkpoint before the scheduler kills the job; the next job
        # (a requeue, or the same sweep run again) resumes it.
        cfg.trainer.max_minutes = float(limit)
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
