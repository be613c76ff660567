"""The wall clock of a whole `make reproduce-mnist` sitting: data, estimate and sweep.

Issue 16's budget is the time of `make reproduce-mnist PROFILE=fast` as a user runs
it, not the sum of the run records (which leaves out start-up, data generation and
the gaps between jobs, and counts a run trained beside another as if alone). The
Makefile calls :func:`start` before the data and :func:`stop` after the sweep; the
report lists every finished sitting in results/cost.md (and so in the README).

A sitting that fails or is interrupted never reaches ``stop``: its start stays in
``sweep_started.json`` and is never listed. A later sitting of the same command
resumes the stopped runs; its record says how many runs were complete when it began,
so a sitting that finished an earlier one's work is never read as the whole table.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from stn.errors import UserError
from stn.train.provenance import git_commit, hardware, resolve_device

STARTED_FILE = "sweep_started.json"  # the sitting in progress (or one that never finished)
SITTINGS_FILE = "sweeps.jsonl"  # one line per finished sitting


def complete_runs(runs_dir: Path) -> int:
    """Runs below ``runs_dir`` that finished (have final.json)."""
    return sum(1 for _ in Path(runs_dir).rglob("final.json"))


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def start(runs_dir: str | Path, profile: str, seeds: int, jobs: int, args: str = "") -> dict:
    """Note the start of a sitting in <runs_dir>/sweep_started.json (replacing the start of
    one that never finished)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "profile": profile, "seeds": int(seeds), "jobs": int(jobs), "args": args,
        "started": time.time(), "complete_at_start": complete_runs(runs_dir),
        "git_commit": git_commit(),
    }
    (runs_dir / STARTED_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def stop(runs_dir: str | Path) -> dict:
    """Close the sitting begun by :func:`start`: one line in <runs_dir>/sweeps.jsonl."""
    runs_dir = Path(runs_dir)
    begun = runs_dir / STARTED_FILE
    if not begun.exists():
        raise UserError(f"no sitting started in {runs_dir} ({STARTED_FILE} missing): "
                        "run `sweep_clock.py start` first")
    record = json.loads(begun.read_text())
    finished = time.time()
    record.update({
        "started": _utc(record["started"]), "finished": _utc(finished),
        "wall_s": round(finished - record["started"], 1),
        "complete_at_end": complete_runs(runs_dir),
        "hardware": machine(),
    })
    with (runs_dir / SITTINGS_FILE).open("a") as sittings:
        sittings.write(json.dumps(record) + "\n")
    begun.unlink()
    return record


def machine() -> str:
    """The machine a sitting ran on: its CPU and core count (not the threads of one job,
    which each job sets itself), and the GPU first where training uses one."""
    cpu = hardware(torch.device("cpu")).rsplit(" (", 1)[0]
    text = f"{cpu}, {os.cpu_count()} CPU cores"
    device = resolve_device("auto")
    return f"{hardware(device)}; {text}" if device.type == "cuda" else text


def read_sittings(path: str | Path) -> list[dict]:
    """The finished sittings recorded in one sweeps.jsonl."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
