"""Issue 7: exact resume after SIGKILL or a time budget, failing jobs, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from _train_helpers import (
    BUDGET,
    REPO,
    TRAIN_SCRIPT,
    assert_same_run,
    base_overrides,
    compose_cfg,
    packed_and_alone,
    run_folder,
    run_script,
    stop_after,
)

from stn.errors import CheckpointError
from stn.report.runs import collect_runs
from stn.report.table import table1
from stn.train import loop

RESUME_ARGS = ["model=st_cnn_aff", "schedule.iterations=120", "schedule.eval_every=40",
               "trainer.checkpoint_every=10"]


def _checkpoint_iteration(folder) -> int:
    try:
        return torch.load(folder / "checkpoint.pt", weights_only=True)["iteration"]
    except Exception:  # not written yet
        return 0


def _train_until_checkpoint(root, data_dir, args, iteration=30, **popen):
    """A training process of RESUME_ARGS' run under ``root``, returned once its checkpoint
    stands at ``iteration`` or later (or after 120 s)."""
    process = subprocess.Popen(
        [sys.executable, str(TRAIN_SCRIPT), *base_overrides(root, data_dir), *args],
        cwd=REPO, stdout=subprocess.DEVNULL, **popen,
    )
    folder, deadline = run_folder(root, "r", "st_cnn_aff"), time.monotonic() + 120
    while _checkpoint_iteration(folder) < iteration and time.monotonic() < deadline:
        time.sleep(0.02)
    return process


@pytest.mark.parametrize("n_seeds", [1, 3])  # alone, and a pack of three seeds
def test_sigkill_then_resume_is_bitwise_identical(tmp_path, data_dir, n_seeds):
    args = [*RESUME_ARGS, f"trainer.n_seeds={n_seeds}"]
    reference = tmp_path / "reference"
    assert run_script([*base_overrides(reference, data_dir), *args]).returncode == 0

    killed = tmp_path / "killed"
    folder = run_folder(killed, "r", "st_cnn_aff")
    process = _train_until_checkpoint(killed, data_dir, args, stderr=subprocess.DEVNULL)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (folder / "final.json").exists(), "finished before it could be killed"
    assert 30 <= _checkpoint_iteration(folder) < 120

    result = run_script([*base_overrides(killed, data_dir), *args])
    assert result.returncode == 0, result.stderr
    for seed in range(n_seeds):
        assert_same_run(run_folder(reference, "r", "st_cnn_aff", seed),
                        run_folder(killed, "r", "st_cnn_aff", seed))


def test_sigterm_marks_the_run_stopped_and_a_rerun_resumes_it_bitwise(tmp_path, data_dir):
    """`kill` or `timeout` (SIGTERM) is handled as Ctrl-C: the run is recorded as stopped
    at its last checkpoint and its lock freed, not left "running" by a dead process."""
    reference = tmp_path / "reference"
    assert run_script([*base_overrides(reference, data_dir), *RESUME_ARGS]).returncode == 0

    stopped = tmp_path / "stopped"
    folder = run_folder(stopped, "r", "st_cnn_aff")
    process = _train_until_checkpoint(stopped, data_dir, RESUME_ARGS,
                                      stderr=subprocess.PIPE, text=True)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted: re-run the same command to resume" in stderr
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "stopped" and "resume from iteration" in status["reason"]
    assert 30 <= status["iteration"] == _checkpoint_iteration(folder) < 120
    assert not (folder / "final.json").exists() and not (folder / "lock.json").exists()

    assert run_script([*base_overrides(stopped, data_dir), *RESUME_ARGS]).returncode == 0
    assert_same_run(run_folder(reference, "r", "st_cnn_aff"), folder)


def test_time_budget_stops_with_checkpoint_and_resumes(tmp_path, data_dir, monkeypatch):
    overrides = [*base_overrides(tmp_path, data_dir), *RESUME_ARGS, BUDGET]
    ticks = iter(range(10**6))  # a clock that advances one second per reading
    monkeypatch.setattr(loop, "_clock", lambda: float(next(ticks)))
    monkeypatch.setattr(loop, "_deadline", lambda cfg: 40.0)
    assert loop.train(compose_cfg(overrides)) == []
    folder = run_folder(tmp_path, "r", "st_cnn_aff")
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "stopped" and "time budget" in status["reason"]
    assert not (folder / "final.json").exists()
    assert 0 < _checkpoint_iteration(folder) == status["iteration"] < 120

    monkeypatch.undo()
    (final,) = loop.train(compose_cfg(overrides))
    reference = tmp_path / "reference"
    loop.train(compose_cfg([*base_overrides(reference, data_dir), *RESUME_ARGS]))
    assert_same_run(run_folder(reference, "r", "st_cnn_aff"), folder)


def test_nan_job_fails_alone_and_the_sweep_goes_on(tmp_path, data_dir):
    experiments = tmp_path / "configs" / "experiment"
    experiments.mkdir(parents=True)
    (experiments / "healthy.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: cnn\n")
    (experiments / "diverging.yaml").write_text(  # an absurd learning rate overflows to inf
        "# @package _global_\ndefaults:\n  - override /model: fcn\nschedule:\n  lr: 1.0e30\n")
    result = run_script(["-m", *base_overrides(tmp_path, data_dir), "experiment=diverging,healthy",
                         f"hydra.searchpath=[file://{tmp_path / 'configs'}]"])
    assert result.returncode == 0, result.stderr
    failed = run_folder(tmp_path, "r", "fcn")
    status = json.loads((failed / "status.json").read_text())
    assert status["status"] == "failed" and "NaN or inf" in status["reason"]
    assert not (failed / "final.json").exists()
    assert (run_folder(tmp_path, "r", "cnn") / "final.json").exists()

    table = table1(collect_runs(tmp_path / "runs")).set_index("model")  # the report's view
    assert table.loc["fcn", "R_status"] == "failed"
    assert table.loc["cnn", "R_status"] == "complete"


def test_rerunning_a_finished_sweep_trains_nothing(tmp_path, data_dir):
    args = ["-m", *base_overrides(tmp_path, data_dir), "model=fcn,st_fcn_aff"]
    assert run_script(args).returncode == 0
    finals = {m: (run_folder(tmp_path, "r", m) / "final.json") for m in ("fcn", "st_fcn_aff")}
    stamps = {m: f.stat().st_mtime_ns for m, f in finals.items()}
    second = run_script(args)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("already complete, skipped") == 2
    assert {m: f.stat().st_mtime_ns for m, f in finals.items()} == stamps


def test_packed_seeds_match_training_each_alone(tmp_path, data_dir):
    """Packing (vmap over stacked weights) changes only float rounding: rtol 1e-4, atol 1e-6.

    Compared after 2 steps: packed and solo convolutions run different kernels
    (grouped under vmap, channels_last alone), and training amplifies their
    rounding differences chaotically once a max-pool choice flips (measured on
    st_cnn_tps: 3e-8 after 1 step, 6e-5 after 5, 5e-3 after 20).
    """
    common = [*base_overrides(tmp_path, data_dir), "model=st_cnn_tps", "schedule.iterations=2"]
    for _, packed, alone in packed_and_alone(tmp_path, common, "st_cnn_tps"):
        for name in alone:
            torch.testing.assert_close(packed[name], alone[name], rtol=1e-4, atol=1e-6)


def test_every_torch_load_uses_weights_only():
    offenders = []
    for path in [*REPO.glob("stn/**/*.py"), *REPO.glob("scripts/*.py")]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "torch.load(" in line and "weights_only=True" not in line:
                offenders.append(f"{path.relative_to(REPO)}:{number}")
    assert not offenders, offenders


@pytest.mark.parametrize("model", ["fcn"])
def test_no_secret_reaches_the_run_folder(tmp_path, data_dir, model):
    secret = "wandb-key-0123456789abcdef0123456789abcdef"
    result = run_script([*base_overrides(tmp_path, data_dir), f"model={model}", "logger=wandb"],
                        env={"WANDB_API_KEY": secret})
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "runs").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def _interrupt_at(monkeypatch, call: int, error: BaseException):
    """Make the trainer's step raise `error` on its `call`-th call."""
    calls = iter(range(10**6))
    real_step = loop.sgd_step

    def step(*args):
        if next(calls) == call:
            raise error
        return real_step(*args)

    monkeypatch.setattr(loop, "sgd_step", step)


def test_crash_mid_run_marks_it_failed_with_the_reason(tmp_path, data_dir, monkeypatch):
    _interrupt_at(monkeypatch, 25, RuntimeError("simulated device fault"))
    with pytest.raises(RuntimeError):
        loop.train(compose_cfg([*base_overrides(tmp_path, data_dir), *RESUME_ARGS]))
    folder = run_folder(tmp_path, "r", "st_cnn_aff")
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "failed" and "simulated device fault" in status["reason"]
    assert status["iteration"] == 20  # the last checkpoint, where a re-run resumes
    assert not (folder / "final.json").exists()


def test_ctrl_c_stops_resumably_and_the_rerun_matches(tmp_path, data_dir, monkeypatch):
    overrides = [*base_overrides(tmp_path, data_dir), *RESUME_ARGS]
    _interrupt_at(monkeypatch, 47, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        loop.train(compose_cfg(overrides))
    folder = run_folder(tmp_path, "r", "st_cnn_aff")
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "stopped" and status["iteration"] == 40
    assert "resume from iteration 40" in status["reason"]
    monkeypatch.undo()
    loop.train(compose_cfg(overrides))
    reference = tmp_path / "reference"
    loop.train(compose_cfg([*base_overrides(reference, data_dir), *RESUME_ARGS]))
    assert_same_run(run_folder(reference, "r", "st_cnn_aff"), folder)


def test_a_tracker_that_fails_to_start_leaves_no_running_run(tmp_path, data_dir, monkeypatch):
    def broken_tracker(*args):
        raise OSError("wandb could not start")

    monkeypatch.setattr(loop, "open_tracker", broken_tracker)
    with pytest.raises(OSError):
        loop.train(compose_cfg([*base_overrides(tmp_path, data_dir), "model=fcn"]))
    status = json.loads((run_folder(tmp_path, "r", "fcn") / "status.json").read_text())
    assert status["status"] == "failed" and "wandb could not start" in status["reason"]


def test_resume_refuses_another_pack_size_or_device(tmp_path, data_dir, monkeypatch):
    """Issue 15: packed and alone runs (and CPU and GPU runs) round differently, so a
    checkpoint resumes only as it was trained; anything else is refused in one line."""
    overrides = [*base_overrides(tmp_path, data_dir), "model=fcn", "schedule.iterations=40",
                 BUDGET, "trainer.n_seeds=2"]
    stop_after(monkeypatch, 15)
    assert loop.train(compose_cfg(overrides)) == []
    monkeypatch.undo()
    folder = run_folder(tmp_path, "r", "fcn", seed=0)
    with pytest.raises(CheckpointError, match="packed with 2 seed\\(s\\), not 1.*n_seeds=2"):
        loop.train(compose_cfg([*overrides, "trainer.n_seeds=1"]))
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    torch.save({**state, "device": "cuda"}, folder / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="trained on cuda, not cpu"):
        loop.train(compose_cfg(overrides))
    torch.save(state, folder / "checkpoint.pt")
    finals = loop.train(compose_cfg(overrides))  # as trained: resumes
    assert [f["seed"] for f in finals] == [0, 1]


@pytest.mark.parametrize("budget_stop", [None, 5])  # a regular checkpoint, the budget's one
def test_no_checkpoint_holds_weights_that_went_nan(tmp_path, data_dir, monkeypatch,
                                                   budget_stop):
    """The NaN check runs before every checkpoint, so a checkpoint never holds broken
    weights even where checks are sparse (a GPU checks every trainer.nan_check_every steps)."""
    overrides = [*base_overrides(tmp_path, data_dir), "model=fcn", "schedule.lr=1.0e30",
                 BUDGET, "trainer.checkpoint_every=7"]
    monkeypatch.setattr(loop, "_check_every", lambda cfg, device: 100)  # as on a GPU
    if budget_stop:
        stop_after(monkeypatch, budget_stop)
    assert loop.train(compose_cfg(overrides)) == []
    folder = run_folder(tmp_path, "r", "fcn")
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "failed" and "NaN or inf" in status["reason"]
    assert status["iteration"] == (budget_stop or 7)
    assert not (folder / "checkpoint.pt").exists()  # none was written with inf weights


@pytest.mark.parametrize("torn", [False, True])
def test_a_packed_run_stopped_and_resumed_is_bitwise_equal(tmp_path, data_dir, monkeypatch,
                                                          torn):
    """Three packed seeds stopped mid-run (CPU) and resumed end bit for bit where an
    uninterrupted pack does, each with its own record; ``torn``: killed after two of
    the three runs wrote their checkpoint, so the pack stands at two iterations."""
    args = ["model=st_fcn_aff", "schedule.iterations=40", "schedule.eval_every=20",
            "trainer.checkpoint_every=5", "trainer.n_seeds=3", BUDGET]
    reference = tmp_path / "reference"
    loop.train(compose_cfg([*base_overrides(reference, data_dir), *args]))
    stop_after(monkeypatch, 23)
    assert loop.train(compose_cfg([*base_overrides(tmp_path, data_dir), *args])) == []
    monkeypatch.undo()
    if torn:  # seed 2's latest checkpoint never got written: it stands one checkpoint back
        last = run_folder(tmp_path, "r", "st_fcn_aff", 2)
        os.replace(last / "checkpoint.prev.pt", last / "checkpoint.pt")
        assert _checkpoint_iteration(last) == 20  # the others stopped at 23
    finals = loop.train(compose_cfg([*base_overrides(tmp_path, data_dir), *args]))
    assert [f["seed"] for f in finals] == [0, 1, 2]
    for seed in (0, 1, 2):
        assert_same_run(run_folder(reference, "r", "st_fcn_aff", seed),
                        run_folder(tmp_path, "r", "st_fcn_aff", seed))


def test_two_runs_on_two_variants_of_one_dataset_side_by_side(tmp_path):
    """Issue 15: two processes on two readings of P at once, each generating its own
    missing variant under one data folder: both finish, neither touches the other."""
    jobs = []
    for displace in ("source", "target"):
        root = tmp_path / displace
        args = [*base_overrides(root, tmp_path / "data"), "data=p", "model=fcn",
                f"data.distortion.displace={displace}",
                f"hydra.run.dir={root / 'hydra'}"]
        jobs.append(subprocess.Popen([sys.executable, str(TRAIN_SCRIPT), *args], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for job in jobs:
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
    for displace in ("source", "target"):
        assert (run_folder(tmp_path / displace, "p", "fcn") / "final.json").exists()
    assert len(list((tmp_path / "data" / "distorted").iterdir())) == 2


def test_a_seed_trained_apart_keeps_its_progress_in_a_later_pack(tmp_path, data_dir,
                                                                 monkeypatch):
    """Seed 0 stopped as a run of its own, then the cell's three seeds asked for: seed 0
    resumes alone (as it was trained), seeds 1 and 2 start; nothing is thrown away."""
    args = ["model=fcn", "schedule.iterations=30", BUDGET,
            "trainer.checkpoint_every=5"]
    stop_after(monkeypatch, 12)
    assert loop.train(compose_cfg([*base_overrides(tmp_path, data_dir), *args])) == []
    monkeypatch.undo()
    finals = loop.train(compose_cfg([*base_overrides(tmp_path, data_dir), *args,
                                     "trainer.n_seeds=3"]))
    assert sorted(f["seed"] for f in finals) == [0, 1, 2]
    assert {f["seed"]: f["packed_runs"] for f in finals} == {0: 1, 1: 2, 2: 2}
    reference = tmp_path / "reference"
    loop.train(compose_cfg([*base_overrides(reference, data_dir), *args]))
    assert_same_run(run_folder(reference, "r", "fcn"), run_folder(tmp_path, "r", "fcn"))


def test_a_joblib_sweep_of_two_jobs_finishes_every_cell_and_a_rerun_trains_nothing(
    tmp_path, data_dir
):
    """Issue 18: `make reproduce-mnist` with JOBS=2 takes its cells from one queue through
    Hydra's joblib launcher; a re-run skips what is complete."""
    args = ["-m", *base_overrides(tmp_path, data_dir), "model=fcn,st_fcn_aff", "seed=0,1",
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.threads=1"]
    first = run_script(args)
    assert first.returncode == 0, first.stderr
    finals = sorted(tmp_path.glob("runs/r/*/seed=*/final.json"))
    assert len(finals) == 4
    stamps = [f.stat().st_mtime_ns for f in finals]
    second = run_script(args)
    assert second.returncode == 0, second.stderr
    assert [f.stat().st_mtime_ns for f in finals] == stamps


def test_a_sweep_past_its_budget_claims_no_new_folder(tmp_path, data_dir, monkeypatch):
    """A cell reached after trainer.max_minutes is spent is skipped before its folder is
    claimed: no config-only folder (which the report would list as state unknown)."""
    overrides = [*base_overrides(tmp_path, data_dir), *RESUME_ARGS, BUDGET]
    monkeypatch.setattr(loop, "_clock", lambda: 100.0)
    monkeypatch.setattr(loop, "_deadline", lambda cfg: 50.0)
    assert loop.train(compose_cfg(overrides)) == []
    assert not run_folder(tmp_path, "r", "st_cnn_aff").exists()
