"""The benchmark script end to end at its tiny size: checks the outputs, not the speed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _positive(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_bench_tiny_writes_json_and_markdown(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    env.pop("MNIST_DIR", None)  # synthetic digits: the test needs no MNIST copy
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "bench=tiny", f"out_dir={tmp_path}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "bench.json").read_text())

    env_info = result["environment"]
    for key in ("command", "device", "hardware", "git_commit", "date", "versions"):
        assert env_info[key], key
    assert "bench=tiny" in env_info["command"]
    assert {"torch", "torchvision"} <= set(env_info["versions"])

    rows = result["throughput"]
    assert {(r["model"], r["image_size"]) for r in rows} == {("cnn", 28), ("st_cnn_aff", 28)}
    for row in rows:
        for loop in ("trainer", "reference", "packed"):
            assert _positive(row[loop]["images_per_s"]), (row["model"], loop)
            assert _positive(row[loop]["step_s"])
            assert row[loop]["step_memory_mib"] is None or row[loop]["step_memory_mib"] >= 0
        assert row["packed"]["runs"] == 2
        assert _positive(row["trainer_over_reference"])
        assert _positive(row["packed_over_trainer"])
    [overhead] = result["st_overhead"]
    assert overhead["model"] == "st_cnn_aff"
    assert math.isfinite(overhead["trainer_pct"]) and math.isfinite(overhead["reference_pct"])

    # The first convolution's input gradient: timed both ways and equal to rounding.
    [conv] = result["first_conv"]
    assert conv["image_size"] == 28 and conv["input"] == [16, 1, 28, 28]
    assert _positive(conv["reference_ms"]) and _positive(conv["ours_ms"])
    assert conv["max_diff_over_max"] < 1e-2  # bf16 rounding of the reference's output at worst
    assert "First-convolution input gradient" in (tmp_path / "bench.md").read_text()

    # The 2x average pool: timed both ways and equal to rounding (fp32).
    [pool] = result["pooling"]
    assert pool["image_size"] == 28 and pool["input"] == [16, 1, 28, 28]
    for key in ("reference_forward_ms", "ours_forward_ms", "reference_ms", "ours_ms"):
        assert _positive(pool[key]), key
    assert pool["max_diff_over_max"] < 1e-6
    assert "2x average pooling" in (tmp_path / "bench.md").read_text()

    datagen = result["datagen"]
    assert [d["dataset"] for d in datagen["datasets"]] == ["r", "rts", "p", "e", "tc"]
    for d in datagen["datasets"]:
        assert d["digits"] == 128  # limit 64 per split
        assert _positive(d["batched_s"]) and _positive(d["loop_extrapolated_s"])
        assert _positive(d["speedup"])
    assert "synthetic" in datagen["digits_source"]
    assert _positive(datagen["total"]["speedup"])

    # Fresh distortions: every 28 px dataset's redraw against both timed models.
    redraw = {(o["dataset"], o["model"]): o for o in result["redraw_overhead"]}
    assert set(redraw) == {(d, m) for d in ("r", "p", "e") for m in ("cnn", "st_cnn_aff")}
    for o in redraw.values():
        assert _positive(o["redraw_epoch_s"]) and _positive(o["overhead_pct"])

    # Transformation panels: drawn through stn.train.panels for the 28 px ST model, against
    # a quick run's evaluations and the same model's trainer step time of this bench.
    panels = result["panels"]
    assert panels["schedule"] == {"name": "quick", "iterations": 1000, "eval_every": 250,
                                  "evaluations": 4, "batch_size": 256}
    assert _positive(panels["process_first_panel_ms"]) and panels["process_setup_ms"] >= 0
    assert "synthetic" in panels["digits_source"]  # logged to a real offline wandb run, whose
    # media folder held every panel (stn.bench.panels.time_panels checks the count)
    [panel] = panels["models"]
    assert panel["model"] == "st_cnn_aff" and panel["image_size"] == 28
    assert panel["panels"] == 2  # bench=tiny
    for key in ("first_ms", "panel_ms", "trainer_step_ms", "run_panels_s", "run_steps_s",
                "pct_of_steps"):
        assert _positive(panel[key]), key
    step = next(r for r in rows if r["model"] == "st_cnn_aff")
    loop = panel["step_loop"]  # the trainer at the quick schedule's precision
    assert loop in ("trainer", "trainer_fp32")
    assert math.isclose(panel["trainer_step_ms"], 1000 * step[loop]["step_s"])
    assert math.isclose(panel["run_steps_s"], 1000 * step[loop]["step_s"] * 256 / 16)
    assert math.isclose(panel["run_panels_s"],
                        (panel["first_ms"] + 3 * panel["panel_ms"]) / 1000)
    assert math.isclose(panel["pct_of_steps"], 100 * panel["run_panels_s"] / panel["run_steps_s"])
    assert panel["pct_of_steps_fresh_process"] >= panel["pct_of_steps"]

    markdown = (tmp_path / "bench.md").read_text()
    assert "Transformation panels" in markdown
    assert "st_cnn_aff" in markdown and "Dataset generation" in markdown
    assert "the redraw of the training split at every epoch" in markdown
    assert env_info["command"] in markdown


def test_redraw_overhead_with_fewer_digits_than_a_batch():
    # `datagen.limit=64` at the paper's batch of 256 (a quick look at a few models) used to
    # divide by the epoch's zero full batches. The share is per digit: 0.5 s to redraw 64
    # digits, stepped through at 256 img/s (0.25 s), makes training 200% slower.
    from stn.bench.datagen import redraw_overhead

    datagen = {"datasets": [{"dataset": "r", "image_size": 28, "redraw_epoch_s": 0.5,
                             "train_digits": 64}]}
    throughput = [{"model": "fcn", "image_size": 28, "trainer": {"images_per_s": 256.0}},
                  {"model": "fcn", "image_size": 60, "trainer": {"images_per_s": 1.0}}]
    [row] = redraw_overhead(datagen, throughput)
    assert row["model"] == "fcn" and math.isclose(row["overhead_pct"], 200.0)
