"""The wall clock of a whole `make reproduce-mnist` sitting: data, estimate and sweep.

Issue 16's budget is the time of `make reproduce-mnist PROFILE=fast` as a user runs
it, not the sum of the run records (which leaves out start-up, data generation and
the gaps between jobs, and counts a run trained beside another as if alone). The
Makefile calls :func:`start` before the data and :func:`stop` after the sweep, with
the sweep's own overrides; the report lists every finished sitting in results/cost.md
(and so in the README).

A sitting that fails or is killed never reaches ``stop``: its start stays in
``sweep_started.json`` and is never listed. A sweep longer than a sitting can stop
cleanly (``ARGS=trainer.max_minutes=<N>``) and go on in the next one with the same
command: each sitting records how many of the sweep's runs were left to train when it
began and when it ended, so the report can add up the sittings that took one sweep
from nothing to done (stn.report.cost) and never reads a part as the whole.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from datetime import UTC, datetime
from pathlib import Path

from stn.errors import UserError
from stn.train.estimate import compose_sweep, remaining_runs
from stn.train.provenance import as_trained, cpu_model, git_commit, hardware, resolve_device

STARTED_FILE = "sweep_started.json"  # the sitting in progress (or one that never finished)
SITTINGS_FILE = "sweeps.jsonl"  # one line per finished sitting


class Sweep:
    """The runs of ``train.py -m <overrides>``: how many, how many left, where."""

    def __init__(self, overrides: list[str]):
        configs, self.jobs = compose_sweep(overrides)
        first = as_trained(configs[0])[0]
        self.configs = configs
        self.profile = first.schedule.name
        self.seeds = int(first.trainer.n_seeds)
        self.runs_dir = Path(first.paths.runs_dir)
        self.runs = sum(int(c.trainer.n_seeds) for c in configs)

    def left(self) -> int:
        """Runs of the sweep without final.json."""
        return sum(len(remaining_runs(c)) for c in self.configs)


def machine() -> str:
    """The machine a sitting ran on: its CPU and core count (not the threads of one job,
    which each job sets itself), and the GPU first where training uses one."""
    text = f"{cpu_model()}, {os.cpu_count()} CPU cores"
    device = resolve_device("auto")
    return f"{hardware(device)}; {text}" if device.type == "cuda" else text


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def start(overrides: list[str]) -> dict:
    """Note the start of a sitting in <runs dir>/sweep_started.json (replacing the start of
    one that never finished)."""
    sweep = Sweep(overrides)
    sweep.runs_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "profile": sweep.profile, "seeds": sweep.seeds, "jobs": sweep.jobs,
        "overrides": shlex.join(overrides), "started": time.time(),
        "sweep_runs": sweep.runs, "left_at_start": sweep.left(), "git_commit": git_commit(),
    }
    (sweep.runs_dir / STARTED_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def stop(overrides: list[str]) -> dict:
    """Close the sitting begun by :func:`start` with the same overrides: one line in
    <runs dir>/sweeps.jsonl."""
    sweep = Sweep(overrides)
    begun = sweep.runs_dir / STARTED_FILE
    if not begun.exists():
        raise UserError(f"no sitting started in {sweep.runs_dir} ({STARTED_FILE} missing): "
                        "run `sweep_clock.py start` with the same overrides first")
    record = json.loads(begun.read_text())
    finished = time.time()
    record.update({
        "started": _utc(record["started"]), "finished": _utc(finished),
        "wall_s": round(finished - record["started"], 1), "left_at_end": sweep.left(),
        "hardware": machine(),
    })
    with (sweep.runs_dir / SITTINGS_FILE).open("a") as sittings:
        sittings.write(json.dumps(record) + "\n")
    begun.unlink()
    return record


def read_sittings(path: str | Path) -> list[dict]:
    """The finished sittings recorded in one sweeps.jsonl."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
