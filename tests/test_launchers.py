"""Sweeps through Hydra's submitit launcher (configs/hydra/launcher/local.yaml): real
subprocess jobs as on a cluster, the time limit as the trainer's budget, and a job killed
mid-run that a re-run resumes bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import yaml
from _train_helpers import (
    REPO,
    TRAIN_SCRIPT,
    assert_same_run,
    base_overrides,
    run_folder,
    run_script,
)
from test_reliability import RESUME_ARGS, _checkpoint_iteration

SUBMITIT = ["hydra/launcher=local", "hydra.launcher.timeout_min=20", "trainer.threads=1"]


def test_a_submitit_local_sweep_finishes_every_cell_with_the_job_limit_as_budget(
    tmp_path, data_dir
):
    args = ["-m", *base_overrides(tmp_path, data_dir), "model=fcn,st_fcn_aff", "seed=0,1",
            *SUBMITIT]
    first = run_script(args)
    assert first.returncode == 0, first.stderr
    finals = sorted(tmp_path.glob("runs/r/*/seed=*/final.json"))
    assert len(finals) == 4
    config = yaml.safe_load((run_folder(tmp_path, "r", "fcn") / "config.yaml").read_text())
    assert config["trainer"]["max_minutes"] == 20.0  # hydra.launcher.timeout_min
    stamps = [f.stat().st_mtime_ns for f in finals]
    second = run_script(args)
    assert second.returncode == 0, second.stderr
    assert [f.stat().st_mtime_ns for f in finals] == stamps  # nothing trained again


def test_a_submitit_job_killed_mid_run_resumes_bitwise(tmp_path, data_dir):
    reference = tmp_path / "reference"  # uninterrupted, with the jobs' thread count
    assert run_script([*base_overrides(reference, data_dir), *RESUME_ARGS,
                       "trainer.threads=1"]).returncode == 0

    killed = tmp_path / "killed"
    args = ["-m", *base_overrides(killed, data_dir), *RESUME_ARGS, *SUBMITIT,
            f"hydra.sweep.dir={killed / 'hydra'}"]
    folder = run_folder(killed, "r", "st_cnn_aff")
    # Its own session, so the launcher and its job process die together, as when a
    # scheduler kills a job.
    sweep = subprocess.Popen([sys.executable, str(TRAIN_SCRIPT), *args], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 180
    while _checkpoint_iteration(folder) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.wait()
    time.sleep(0.5)  # the job process is gone with its group
    assert not (folder / "final.json").exists(), "finished before it could be killed"
    assert 30 <= _checkpoint_iteration(folder) < 120

    again = run_script(args)  # the same command again: its lock is stale, the run resumes
    assert again.returncode == 0, again.stderr
    assert_same_run(run_folder(reference, "r", "st_cnn_aff"), folder)
