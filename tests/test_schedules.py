"""Issue 16: learning-rate shapes for a shorter schedule, the localisation net's own lr, and
the guarantee that neither changes the runs recorded before they existed."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch
from _train_helpers import (
    REPO,
    assert_stop_and_resume_is_bitwise,
    base_overrides,
    compose_cfg,
)
from omegaconf import OmegaConf

from stn.errors import ConfigError
from stn.report.paper import is_paper_schedule
from stn.report.schedules import collect_trials, trial_name, trial_scores, write_schedules
from stn.train import loop
from stn.train import run_folder as rf
from stn.train.optim import SHAPES, learning_rate, make_optimizer
from stn.train.packed import PackedRuns
from stn.train.validate import validate


def _schedule(**changes):
    return compose_cfg([f"schedule.{k}={v}" for k, v in changes.items()]).schedule


def test_step_shape_is_the_papers_schedule():
    s = compose_cfg(["schedule=paper"]).schedule
    assert [learning_rate(s, i) for i in (0, 49_999, 50_000, 100_000, 149_999)] == pytest.approx(
        [0.01, 0.01, 0.001, 0.0001, 0.0001])


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_is_a_pure_function_of_the_iteration(shape):
    s = _schedule(shape=shape, iterations=1000, warmup=100, lr=0.1, lr_decay_every=300)
    first = [learning_rate(s, i) for i in range(1000)]
    assert [learning_rate(s, i) for i in reversed(range(1000))] == first[::-1]
    assert first[0] == pytest.approx(0.1 / 100)  # warm-up starts near 0 ...
    assert first[99] == pytest.approx(0.1)  # ... and reaches the peak at its end
    assert all(b >= a for a, b in zip(first[:99], first[1:100], strict=True))
    assert all(b <= a for a, b in zip(first[100:-1], first[101:], strict=True))


def test_cosine_and_linear_decay_from_the_peak_to_zero():
    cosine = _schedule(shape="cosine", iterations=1001, lr=0.1)
    linear = _schedule(shape="linear", iterations=1001, lr=0.1)
    assert learning_rate(cosine, 0) == learning_rate(linear, 0) == pytest.approx(0.1)
    assert learning_rate(cosine, 500) == pytest.approx(0.1 * (1 + math.cos(math.pi * 0.5)) / 2)
    assert learning_rate(linear, 500) == pytest.approx(0.05)
    assert learning_rate(cosine, 1000) == pytest.approx(0) == learning_rate(linear, 1000)


@pytest.mark.parametrize("override, message", [
    ("schedule.shape=exponential", "schedule.shape='exponential': choose one of"),
    ("schedule.warmup=-1", "schedule.warmup=-1 must be in [0, schedule.iterations="),
    ("schedule.warmup=200", "schedule.warmup=200 must be in [0, schedule.iterations=200)"),
    ("schedule.loc_lr_scale=0", "schedule.loc_lr_scale=0.0 must be positive"),
])
def test_bad_schedule_values_are_one_line_errors(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        validate(compose_cfg(["schedule=smoke", "schedule.iterations=200", override]))


def test_loc_lr_scale_scales_the_spatial_transformers_parameters_only():
    s = _schedule(loc_lr_scale=0.1, lr=0.01)
    packed = PackedRuns("st_fcn_aff", 28, [0], torch.device("cpu"))
    optimizer = make_optimizer(packed.params, s)
    by_group = [{name for name, p in packed.params.items()
                 if any(p is q for q in group["params"])} for group in optimizer.param_groups]
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.01, 0.001])
    assert by_group[1] and all(n.startswith("spatial_transformer.") for n in by_group[1])
    assert not any(n.startswith("spatial_transformer.") for n in by_group[0])
    assert by_group[0] | by_group[1] == set(packed.params)
    # A baseline has no spatial transformer: one group.
    assert len(make_optimizer(PackedRuns("fcn", 28, [0], "cpu").params, s).param_groups) == 1


def test_runs_recorded_before_the_new_keys_keep_their_fingerprint():
    """A finished run's config.yaml predates shape, warmup and loc_lr_scale: at their
    neutral values they leave the fingerprint as it was, so a re-run skips it."""
    config = OmegaConf.to_container(compose_cfg(["schedule=paper"]), resolve=True)
    old = json.loads(json.dumps(config))
    for key in ("shape", "warmup", "loc_lr_scale"):
        del old["schedule"][key]
    assert rf.fingerprint(config) == rf.fingerprint(old)
    assert is_paper_schedule(old["schedule"]) and is_paper_schedule(config["schedule"])
    changed = json.loads(json.dumps(config))
    changed["schedule"]["loc_lr_scale"] = 0.1
    assert rf.fingerprint(changed) != rf.fingerprint(config)
    assert not is_paper_schedule(changed["schedule"])


# LIMIT=600 digits, smoke batch 32; the warm-up ends at 10 and the lr decays after it.
ARGS = ["model=st_fcn_aff", "schedule.iterations=40", "schedule.eval_every=20",
        "schedule.shape=cosine", "schedule.warmup=10", "schedule.loc_lr_scale=0.1",
        "trainer.checkpoint_every=1"]


@pytest.mark.parametrize("stop_at", [7, 10, 13])  # in the warm-up, at its end, after it
def test_resume_across_a_phase_boundary_is_bitwise(tmp_path, data_dir, monkeypatch, stop_at):
    assert_stop_and_resume_is_bitwise(tmp_path, data_dir, monkeypatch, ARGS, stop_at)


def _train_trial(runs, data_dir, model: str, shape: str, lr: float):
    overrides = [*base_overrides(runs, data_dir), "experiment=schedules", f"model={model}",
                 "data.validation=100", "schedule.iterations=20", "schedule.batch_size=32",
                 "schedule.warmup=5", "schedule.lr_decay_every=7", "schedule.eval_every=10",
                 "schedule.eval_samples=100", "schedule.precision=fp32",
                 f"schedule.shape={shape}", f"schedule.lr={lr}",
                 f"paths.runs_dir='{runs / 'schedules' / f'{shape}-{lr}'}'"]
    return loop.train(compose_cfg(overrides))


def test_the_schedule_search_table_ranks_trials_on_the_validation_split(tmp_path, data_dir):
    runs = tmp_path / "runs"
    for model, shape, lr in (("fcn", "cosine", 0.01), ("st_fcn_aff", "cosine", 0.01),
                             ("fcn", "step", 0.03), ("st_fcn_aff", "step", 0.03),
                             ("fcn", "linear", 0.1)):  # finished on one cell only
        (final,) = _train_trial(runs, data_dir, model, shape, lr)
        assert "val_error" in final and "test_error" not in final
    results = tmp_path / "results"
    write_schedules(runs / "schedules", results, "python scripts/schedules.py")
    frame = pd.read_csv(results / "schedules.csv")
    assert len(frame) == 5 and set(frame["state"]) == {"complete"}
    assert set(frame["shape"]) == {"cosine", "step", "linear"}
    for record in frame["record"]:
        assert (results / record / "final.json").exists()
    scores = trial_scores(collect_trials(results / "schedules"))
    # The linear trial lacks the ST-FCN cell, so it is not ranked beside the others.
    assert list(scores.columns) == ["r/fcn", "r/st_fcn_aff", "mean"] and len(scores) == 2
    assert scores["mean"].is_monotonic_increasing
    markdown = (results / "schedules.md").read_text()
    assert markdown.count("| R | FCN |") == 3 and "never loaded" in markdown
    cosine = frame[(frame["shape"] == "cosine") & (frame["model"] == "fcn")].iloc[0]
    assert cosine["command"].startswith("python scripts/train.py experiment=schedules data=r "
                                        "model=fcn schedule.iterations=20")

    # A new machine (no runs/): the committed records keep their rows.
    shutil.rmtree(runs)
    again = subprocess.run(
        [sys.executable, "scripts/schedules.py", f"runs_root={runs}", f"results_dir={results}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert again.returncode == 0, again.stderr
    assert pd.read_csv(results / "schedules.csv")[["trial", "model", "val_error"]].equals(
        frame[["trial", "model", "val_error"]])


def test_a_baselines_trial_stands_for_every_loc_lr_scale():
    rows = []
    for model, loc, error in (("fcn", 1.0, 2.0), ("st_fcn_aff", 1.0, 5.0),
                              ("st_fcn_aff", 0.1, 4.0)):
        schedule = {"iterations": 10, "batch_size": 32, "shape": "linear", "lr": 0.1,
                    "warmup": 0, "loc_lr_scale": loc, "momentum": 0.9}
        rows.append({"data": "r", "model": model, "state": "complete", "val_error": error,
                     "trial": trial_name(schedule), **schedule})
    scores = trial_scores(pd.DataFrame(rows))
    assert list(scores["mean"]) == [3.0, 3.5]  # FCN's 2.0 beside each ST-FCN trial
    assert "loc_lr_scale=0.1" in scores.index[0]


def test_the_fast_profile_is_the_schedule_the_committed_search_ranked_first():
    """configs/schedule/fast.yaml must be the search's leader (results/schedules.csv, scored
    on the validation split), not a schedule picked some other way; only its length may
    grow past the trials' (the budget sets it, results/README.md)."""
    trials = pd.read_csv(REPO / "results" / "schedules.csv")
    leader = trials[trials["trial"] == trial_scores(trials).index[0]].iloc[0]
    for model in ("fcn", "cnn"):  # the iterations may differ per model (stn.per_cell)
        fast = compose_cfg(["schedule=fast", f"model={model}"]).schedule
        for key in ("batch_size", "shape", "lr", "warmup", "loc_lr_scale", "momentum"):
            assert fast[key] == leader[key], (model, key)
        assert fast.iterations >= leader["iterations"], model


def test_per_cell_takes_the_most_specific_key_and_a_missing_one_is_one_line():
    """stn.per_cell (fast.yaml's per-model and per-cell values): <data>/<model>, then
    <model>, then default; the resolved config holds the number; no key that applies is a
    one-line ConfigError."""
    values = "{tc/st_fcn_aff: 700, st_fcn_aff: 800, default: 900}"
    for data, model, expected in (("tc", "st_fcn_aff", 700), ("r", "st_fcn_aff", 800),
                                  ("tc", "cnn", 900)):
        cfg = compose_cfg(["schedule=fast", f"data={data}", f"model={model}"])
        OmegaConf.update(cfg, "schedule.iterations",
                         f"${{stn.per_cell:${{data.name}},${{model.name}},{values}}}")
        validate(cfg)
        assert OmegaConf.to_container(cfg, resolve=True)["schedule"]["iterations"] == expected
    cfg = compose_cfg(["schedule=fast", "model=fcn"])
    OmegaConf.update(cfg, "schedule.iterations",
                     "${stn.per_cell:${data.name},${model.name},{cnn: 10}}")
    with pytest.raises(ConfigError, match="no value for data=r model=fcn"):
        validate(cfg)


def test_the_committed_fast_runs_are_the_fast_profile_as_configured():
    """Every committed fast run (results/runs/fast) hashes as fast.yaml composes its cell
    now, so per-cell values (stn.per_cell) retrain only the cells they change and the
    committed table is the profile a user gets."""
    committed = sorted((REPO / "results" / "runs" / "fast").glob("*/*/seed=*/config.yaml"))
    if not committed:
        pytest.skip("results/runs/fast is not committed")
    for path in committed:
        recorded = OmegaConf.to_container(OmegaConf.load(path))
        # the precision "auto" resolved to on the machine that trained them
        cfg = compose_cfg(["experiment=table1", "schedule=fast",
                           f"data={recorded['data']['name']}",
                           f"model={recorded['model']['name']}", "trainer.n_seeds=1",
                           f"seed={recorded['seed']}",
                           f"schedule.precision={recorded['schedule']['precision']}"])
        config = OmegaConf.to_container(cfg, resolve=True)
        assert rf.fingerprint(config) == rf.fingerprint(recorded), path
