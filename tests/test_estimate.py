"""The sweep estimate printed before `make reproduce-mnist` trains (scripts/estimate.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import torch
from _train_helpers import REPO, base_overrides, compose_cfg

from stn.train import estimate
from stn.train import run_folder as rf
from stn.train.estimate import (
    describe,
    make_profile_runs,
    profile_sweep_argv,
    remaining_runs,
    sweep_overrides,
)


def test_the_sweep_is_expanded_as_hydra_does_with_the_command_line_first():
    params = {"data": "r,rts,p,e,tc", "model": "fcn,cnn"}
    jobs = sweep_overrides(["schedule=quick", "data=r,tc", "seed=0"], params)
    assert jobs == [["schedule=quick", "seed=0", "data=r", "model=fcn"],
                    ["schedule=quick", "seed=0", "data=r", "model=cnn"],
                    ["schedule=quick", "seed=0", "data=tc", "model=fcn"],
                    ["schedule=quick", "seed=0", "data=tc", "model=cnn"]]
    assert len(sweep_overrides(["model=fcn"], params)) == 5


def test_complete_runs_cost_nothing_and_stopped_ones_only_what_is_left(tmp_path, data_dir):
    cfg = compose_cfg([*base_overrides(tmp_path, data_dir), "trainer.n_seeds=3"])
    iterations = cfg.schedule.iterations
    complete = rf.run_dir(cfg.paths.runs_dir, "r", cfg.model.name, 0)
    stopped = rf.run_dir(cfg.paths.runs_dir, "r", cfg.model.name, 1)
    for folder in (complete, stopped):
        folder.mkdir(parents=True)
    (complete / rf.FINAL_FILE).write_text(json.dumps({"test_error": 1.0}))
    (stopped / rf.CHECKPOINT_FILE).write_bytes(b"")
    rf.write_status(stopped, "stopped", 3, "time budget")
    assert remaining_runs(cfg) == [(1, iterations - 3), (2, iterations)]


def test_the_estimate_counts_the_runs_before_the_sweep(tmp_path, data_dir):
    overrides = [*base_overrides(tmp_path, data_dir), "model=fcn,st_fcn_aff", "seed=0,1"]
    done = rf.run_dir(tmp_path / "runs", "r", "fcn", 0)
    done.mkdir(parents=True)
    (done / rf.FINAL_FILE).write_text(json.dumps({"test_error": 1.0}))
    result = subprocess.run([sys.executable, "scripts/estimate.py", *overrides,
                             "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("sweep (smoke): 4 runs, 1 complete, 3 to train; estimated ")
    assert "2 jobs at once" in first
    # Every other profile as make would train it: its own seeds, jobs and precision.
    assert "make reproduce-mnist PROFILE=quick (1 seed, 2 jobs, " in result.stdout
    assert "make reproduce-mnist PROFILE=paper (3 seeds, 1 job, fp32) " in result.stdout


def test_each_profile_is_estimated_with_the_seeds_and_jobs_make_gives_it():
    for profile in ("paper", "quick", "smoke"):
        plan = subprocess.run(["make", "-n", "reproduce-mnist", f"PROFILE={profile}",
                               "ESTIMATE=no"], cwd=REPO, capture_output=True, text=True,
                              timeout=60).stdout
        sweep = next(line for line in plan.splitlines() if "scripts/train.py -m" in line)
        jobs = re.search(r"hydra.launcher.n_jobs=(\d+)", sweep)
        seeds = int(re.search(r"trainer.n_seeds=(\d+)", sweep).group(1))
        assert make_profile_runs(profile) == (seeds, int(jobs.group(1)) if jobs else 1)
        argv = profile_sweep_argv(["experiment=table1", "schedule=paper", "data=r",
                                   "trainer.n_seeds=3"], profile)
        assert f"schedule={profile}" in argv and f"trainer.n_seeds={seeds}" in argv
        assert "data=r" in argv and argv.count(f"schedule={profile}") == 1


def test_the_fit_labels_name_the_profiles_that_fit_an_hour_or_an_evening():
    rows = [{"data": "r", "model": "fcn", "runs": 1, "iterations": 10, "precision": "fp32",
             "step_s": 1.0, "seconds": 14400.0}]
    others = {"quick": {"seconds": 1800.0, "seeds": 1, "jobs": 2, "precision": "bf16"},
              "paper": {"seconds": 9 * 86400.0, "seeds": 3, "jobs": 1, "precision": "fp32"}}
    text = describe(rows, 1, 0, 2, torch.device("cpu"), "smoke", others).splitlines()
    assert text[0].endswith("(fits in an evening)")  # 4 h of runs over 2 jobs: 2 h
    assert text[2] == ("  make reproduce-mnist PROFILE=quick (1 seed, 2 jobs, bf16) over the "
                       "same cells from scratch: 30 min (fits in an hour)")
    assert text[3].endswith("from scratch: 9.0 days")


def test_a_bad_override_is_one_error_line():
    result = subprocess.run([sys.executable, "scripts/estimate.py", "model=fcm"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_make_reproduce_mnist_estimates_before_it_trains():
    plan = subprocess.run(["make", "-n", "reproduce-mnist", "PROFILE=quick"], cwd=REPO,
                          capture_output=True, text=True, timeout=60).stdout.splitlines()
    estimate = next(i for i, line in enumerate(plan) if "scripts/estimate.py" in line)
    train = next(i for i, line in enumerate(plan) if "scripts/train.py -m" in line)
    assert estimate < train
    skipped = subprocess.run(["make", "-n", "reproduce-mnist", "ESTIMATE=no"], cwd=REPO,
                             capture_output=True, text=True, timeout=60).stdout
    assert "scripts/estimate.py" not in skipped


def test_one_disturbed_step_does_not_set_the_estimate(monkeypatch):
    """The step time is the median of the timed steps after the warm-up, so one step slowed
    by another process (or the warm-up itself) does not multiply the whole estimate."""
    clock = iter([1.0, 1.1,  # timed step 1: 0.1 s (the warm-up step before it is not timed)
                  2.0, 7.0,  # step 2: 5 s, disturbed
                  8.0, 8.2])  # step 3: 0.2 s

    class FakeLoop:
        def __init__(self, *args):
            pass

        def step(self):
            pass

    monkeypatch.setattr(estimate, "TrainerLoop", FakeLoop)
    monkeypatch.setattr(estimate.time, "perf_counter", lambda: next(clock))
    seconds = estimate.step_seconds("fcn", 28, 64, 8, 1, "fp32", torch.device("cpu"), steps=3)
    assert abs(seconds - 0.2) < 1e-9
