"""One trainer per run folder: overlapping sweeps never train one run twice at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from _train_helpers import REPO, TRAIN_SCRIPT, base_overrides, compose_cfg, run_folder

from stn.train import loop, run_lock


def _holder(args=("sleep", "60")) -> subprocess.Popen:
    return subprocess.Popen(list(args))


def _write_lock(folder, host: str, pid: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / run_lock.LOCK_FILE).write_text(json.dumps(
        {"host": host, "pid": pid, "token": "another process", "since": time.time()}))


def test_a_live_holder_keeps_the_lock_and_a_dead_one_loses_it(tmp_path):
    folder = tmp_path / "run"
    sleeper = _holder()
    try:
        _write_lock(folder, run_lock._HOST, sleeper.pid)
        holder = run_lock.acquire(folder)
        assert holder is not None and holder["pid"] == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
    assert run_lock.acquire(folder) is None  # its process is gone: taken over
    assert json.loads((folder / run_lock.LOCK_FILE).read_text())["pid"] == os.getpid()
    run_lock.release(folder)
    assert not (folder / run_lock.LOCK_FILE).exists()


def test_another_hosts_lock_is_stale_only_when_its_heartbeat_stopped(tmp_path):
    folder = tmp_path / "run"
    _write_lock(folder, "node-17", 12345)
    assert run_lock.acquire(folder)["host"] == "node-17"  # fresh: held
    old = time.time() - run_lock.STALE_AFTER_S - 60
    os.utime(folder / run_lock.LOCK_FILE, (old, old))
    assert run_lock.acquire(folder) is None  # not refreshed for too long: taken over
    _write_lock(folder, "node-17", 12345)
    run_lock.release(folder)  # never removes a lock it does not hold
    assert (folder / run_lock.LOCK_FILE).exists()


def test_a_run_held_by_another_trainer_is_skipped_then_trained(tmp_path, data_dir, capsys):
    cfg = compose_cfg(base_overrides(tmp_path, data_dir) + ["model=fcn"])
    folder = run_folder(tmp_path, "r", "fcn")
    sleeper = _holder()
    try:
        _write_lock(folder, run_lock._HOST, sleeper.pid)
        assert loop.train(cfg) == []
        assert "being trained by host" in capsys.readouterr().out
        assert not (folder / "checkpoint.pt").exists() and not (folder / "status.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    (final,) = loop.train(cfg)
    assert final["iterations"] == cfg.schedule.iterations
    assert not (folder / run_lock.LOCK_FILE).exists()  # released when done


def test_two_launchers_at_once_train_each_run_once(tmp_path, data_dir):
    # Two sweeps over the same two cells, started together as two processes.
    args = ["-m", *base_overrides(tmp_path, data_dir), "model=fcn,st_fcn_aff",
            "schedule.iterations=400", "schedule.eval_every=100", "trainer.threads=1"]
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0"}
    logs = [tmp_path / f"{name}.log" for name in "ab"]
    procs = []
    for name, log in zip("ab", logs, strict=True):
        command = [sys.executable, str(TRAIN_SCRIPT), *args,
                   f"hydra.sweep.dir={tmp_path / ('hydra-' + name)}"]
        with open(log, "w") as out:
            procs.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out))
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    text = "".join(log.read_text() for log in logs)
    for model in ("fcn", "st_fcn_aff"):
        folder = run_folder(tmp_path, "r", model)
        metrics = pd.read_csv(folder / "metrics.csv")
        assert list(metrics["iteration"]) == [100, 200, 300, 400]  # trained once, in order
        assert not (folder / run_lock.LOCK_FILE).exists()
        skipped = text.count(f"{folder}: being trained by") + text.count(
            f"{folder}: already complete")
        assert skipped == 1, text  # the other launcher left it alone


def test_a_run_that_cannot_start_frees_its_lock(tmp_path, data_dir):
    from stn.errors import CheckpointError

    cfg = compose_cfg(base_overrides(tmp_path, data_dir) + ["model=fcn"])
    folder = run_folder(tmp_path, "r", "fcn")
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        loop.train(cfg)
    assert not (folder / run_lock.LOCK_FILE).exists()


def test_a_lock_claimed_between_judging_and_renaming_it_is_put_back(tmp_path):
    """Two processes judge one lock stale; the first takes the run over; the second's
    rename then moves the first's fresh lock, not the stale one: it must put it back."""
    folder = tmp_path / "run"
    stale = {"host": "node-1", "pid": 1, "token": "dead", "since": 0.0}
    _write_lock(folder, "node-2", 222)  # the first process's fresh claim
    fresh = json.loads((folder / run_lock.LOCK_FILE).read_text())
    run_lock._set_aside(folder / run_lock.LOCK_FILE, stale)
    assert json.loads((folder / run_lock.LOCK_FILE).read_text()) == fresh
    assert [p.name for p in folder.iterdir()] == [run_lock.LOCK_FILE]
    assert run_lock.acquire(folder)["host"] == "node-2"  # so the second one skips


def test_a_requeued_slurm_job_takes_over_the_lock_of_its_earlier_life(tmp_path, monkeypatch):
    """A job killed on one node and requeued on another keeps its SLURM job id: its own
    old lock (fresh, another host) is taken over at once; another job's is not."""
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_PROCID", "0")
    folder = tmp_path / "run"
    for job, held in (("4243.0", True), ("4242.1", True), ("4242.0", False)):
        _write_lock(folder, "node-9", 999)
        record = json.loads((folder / run_lock.LOCK_FILE).read_text())
        (folder / run_lock.LOCK_FILE).write_text(json.dumps({**record, "slurm_job": job}))
        holder = run_lock.acquire(folder)
        assert (holder is not None) == held, job
    assert json.loads((folder / run_lock.LOCK_FILE).read_text())["slurm_job"] == "4242.0"
    assert json.loads((folder / run_lock.LOCK_FILE).read_text())["token"] == run_lock._TOKEN
    run_lock.release(folder)
