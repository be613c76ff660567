"""Issue 14: the dry run of `make device-check` (scripts/device_check.py tiny=true) on the
CPU, so the one prepared GPU command cannot rot between GPU visits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_device_check_dry_run_writes_its_files_and_summary(tmp_path, mnist_dir):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "scripts/device_check.py", "tiny=true", f"out={out}", "budget_s=400"],
        cwd=REPO, env={**os.environ, "MNIST_DIR": str(mnist_dir)}, capture_output=True,
        text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["bench.json", "bench.md", "log.txt", "pytest.txt", "runs.tar.gz",
                     "summary.json", "summary.md"]  # at most 8 files come back from $OUT
    summary = json.loads((out / "summary.json").read_text())
    steps = summary["steps"]
    assert steps["gpu_tests"]["exit"] == 0 and "1 passed" in (out / "pytest.txt").read_text()
    assert steps["bench"]["exit"] == 0
    assert [(r["data"], r["model"]) for r in steps["timing"]["rows"]] == [("r", "fcn"),
                                                                       ("r", "st_fcn_aff")]
    assert all(r["step_s"] > 0 and r["cell_min"] > 0 for r in steps["timing"]["rows"])
    assert [r["seed"] for r in steps["protocol"]["complete"]] == [0, 1, 2]
    with tarfile.open(out / "runs.tar.gz") as archive:
        assert "r/fcn/seed=0/final.json" in archive.getnames()
    assert done.stdout.rstrip().endswith("| **table** | **{:.1f}** |".format(
        steps["timing"]["table_min"]))
