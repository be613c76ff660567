"""The sweep-level progress line of a multirun: cells complete of the total, time spent
by this sweep, and an ETA.

A Hydra callback (configs/train.yaml, ``hydra.callbacks.sweep_progress``). When a
multirun starts it composes every job as the job will be and lists each cell's run
folders in ``<sweep dir>/sweep_cells.json`` (the environment variable STN_SWEEP_CELLS
points the jobs to it: the local, joblib and submitit launchers start them after
this). Before each job it counts the cells whose every run has its final.json and
prints one line beside the runs' own progress bars::

    sweep: 3 of 40 cells complete (2 before this sweep), 0:41:07 spent, ETA 17:28:16

A cell finished by an earlier sweep (a re-run after Ctrl-C) counts as complete, and
the ETA extrapolates only from the cells this sweep finished.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Any

from hydra import compose
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from stn.train import run_folder as rf
from stn.train.provenance import as_trained

ENV = "STN_SWEEP_CELLS"
MANIFEST = "sweep_cells.json"


def complete(folders: list[str]) -> bool:
    return all(rf.read_final(Path(folder)) is not None for folder in folders)


def progress_line(done: int, total: int, done_before: int, spent_s: float) -> str:
    """'sweep: 3 of 40 cells complete (2 before this sweep), 0:41:07 spent, ETA ...'."""
    line = f"sweep: {done} of {total} cells complete"
    if done_before:
        line += f" ({done_before} before this sweep)"
    line += f", {datetime.timedelta(seconds=round(spent_s))} spent"
    finished_here = done - done_before
    if finished_here > 0 and done < total:
        eta = spent_s / finished_here * (total - done)
        line += f", ETA {datetime.timedelta(seconds=round(eta))}"
    return line


class SweepProgress(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from stn.train.estimate import sweep_overrides  # the sweeper's own expansion

        params = config.hydra.sweeper.params
        params = {} if params is None else OmegaConf.to_container(params, resolve=True)
        # Unresolved: an override may interpolate the job's own values (a runs_dir naming its
        # lr, say), which the job composed below resolves, not the sweep's first job.
        task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
        jobs = sweep_overrides(task, params)
        # Hydra is initialised here (run_hydra), so the compose API composes each job.
        cells = [[str(folder) for _, folder in
                  rf.cell_runs(as_trained(compose(config.hydra.job.config_name, overrides=o))[0])]
                 for o in jobs]
        manifest = Path(config.hydra.sweep.dir) / MANIFEST
        manifest.parent.mkdir(parents=True, exist_ok=True)
        done_before = sum(complete(folders) for folders in cells)
        manifest.write_text(json.dumps({"start": time.time(), "done_before": done_before,
                                        "cells": cells}))
        os.environ[ENV] = str(manifest.resolve())

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        path = os.environ.get(ENV)
        if not path or not Path(path).exists():  # not a multirun, or a foreign launcher
            return
        manifest = json.loads(Path(path).read_text())
        done = sum(complete(folders) for folders in manifest["cells"])
        print(progress_line(done, len(manifest["cells"]), manifest["done_before"],
                            time.time() - manifest["start"]), flush=True)
