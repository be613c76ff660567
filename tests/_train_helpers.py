"""Helpers for the trainer tests: compose the real configs, run the real script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stn.config import compose_train
from stn.train import loop

REPO = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = REPO / "scripts" / "train.py"
LIMIT = 600  # digits per split: enough for a few smoke batches, seconds to generate

def base_overrides(tmp: Path, data_dir: Path) -> list[str]:
    return [
        f"paths.runs_dir={tmp / 'runs'}",
        f"paths.data_dir={data_dir}",
        f"data.limit={LIMIT}",
        "schedule=smoke",
        "model.budget=32",  # the narrower widths: these tests check behaviour, not widths
        "logger=none",
        "trainer.progress=false",
    ]


def compose_cfg(overrides: list[str]):
    return compose_train(overrides)


def run_script(args: list[str], env: dict | None = None, timeout: int = 300):
    """scripts/train.py as a subprocess; Hydra's own records go beside the test's runs."""
    runs = next(a.split("=", 1)[1] for a in args if a.startswith("paths.runs_dir="))
    hydra_dir = Path(runs).parent / "hydra"
    full_env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, str(TRAIN_SCRIPT), *args,
         f"hydra.run.dir={hydra_dir}", f"hydra.sweep.dir={hydra_dir}"],
        cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


def run_folder(tmp: Path, data: str, model: str, seed: int = 0) -> Path:
    return tmp / "runs" / data / model / f"seed={seed}"


# A time budget for in-process runs that stop_after can trip and nothing else reaches:
# trainer.max_minutes counts from the start of the process, and a pytest session
# outlives a budget of a few minutes.
BUDGET = "trainer.max_minutes=1000000"


def stop_after(monkeypatch, steps_before_stop: int) -> None:
    """Make the next in-process loop.train stop on its time budget (BUDGET among its
    overrides) after this many steps: its clock counts the steps done."""
    steps = {"done": 0}
    real_step = loop.sgd_step

    def counting_step(*args):
        steps["done"] += 1
        return real_step(*args)

    monkeypatch.setattr(loop, "sgd_step", counting_step)
    monkeypatch.setattr(loop, "_clock", lambda: float(steps["done"]))
    monkeypatch.setattr(loop, "_deadline", lambda cfg: steps_before_stop - 0.5)


def assert_same_run(a: Path, b: Path) -> None:
    """Two run folders ended bit for bit alike: final test error, metrics.csv, weights."""
    import torch  # only the tests that compare weights need it

    final_a = json.loads((a / "final.json").read_text())
    final_b = json.loads((b / "final.json").read_text())
    assert final_a["test_error"] == final_b["test_error"]
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
    wa, wb = (torch.load(f / "checkpoint.pt", weights_only=True)["model"] for f in (a, b))
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def assert_stop_and_resume_is_bitwise(tmp: Path, data_dir: Path, monkeypatch, args: list[str],
                                      stop_at: int) -> None:
    """The ST-FCN Aff run of ``args`` on R, stopped by its time budget after ``stop_at``
    steps and resumed, ends bit for bit where an uninterrupted run does."""
    reference = tmp / "reference"
    loop.train(compose_cfg([*base_overrides(reference, data_dir), *args]))

    stop_after(monkeypatch, stop_at)
    overrides = [*base_overrides(tmp, data_dir), *args, BUDGET]
    assert loop.train(compose_cfg(overrides)) == []
    folder = run_folder(tmp, "r", "st_fcn_aff")
    assert json.loads((folder / "status.json").read_text())["iteration"] == stop_at
    monkeypatch.undo()

    loop.train(compose_cfg(overrides))
    assert_same_run(run_folder(reference, "r", "st_fcn_aff"), folder)


def packed_and_alone(tmp: Path, common: list[str], model: str, seeds=(0, 1)):
    """(seed, packed weights, alone weights): the seeds trained packed in one step, then
    each alone, from the same overrides (paths.runs_dir is set here)."""
    import torch  # only the tests that compare weights need it

    def weights(folder: Path):
        return torch.load(folder / "checkpoint.pt", weights_only=True)["model"]

    loop.train(compose_cfg([*common, f"trainer.n_seeds={len(seeds)}",
                            f"seed={seeds[0]}", f"paths.runs_dir={tmp / 'pk'}"]))
    for seed in seeds:
        loop.train(compose_cfg([*common, f"seed={seed}", f"paths.runs_dir={tmp / 'solo'}"]))
        yield (seed, weights(tmp / "pk" / "r" / model / f"seed={seed}"),
               weights(tmp / "solo" / "r" / model / f"seed={seed}"))
