"""The whole GPU visit in one command (`make device-check` on a lent GPU machine).

    python scripts/device_check.py                    # on the GPU machine: ~9 minutes
    python scripts/device_check.py tiny=true out=/tmp/dc   # CPU dry run (tests), seconds

Steps, each given what is left of ``budget_s`` (default 540 s, one device command):
  a. environment: GPU, driver, clocks, torch;
  b. the GPU tests (`pytest -m gpu`; tiny: the same tests on the CPU);
  c. the benchmark (scripts/bench.py on the device: trainer vs the naive loop, packing);
  d. a timing of the paper protocol: steps of every model on every dataset with three
     packed seeds and fresh distortions, extrapolated to one cell, a column, the table;
  e. with the time left, the paper protocol itself (experiment=table1, fp32, three packed
     seeds) under trainer.max_minutes; the small run records go into one archive.
Writes at most 8 files under ``out`` ($OUT): summary.md, summary.json, log.txt,
pytest.txt, bench.json, bench.md, runs.tar.gz. The short table of summary.md is printed
last. Nothing here is a second implementation: every step calls the project's own code.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from stn import registry  # noqa: E402
from stn.config import compose_train  # noqa: E402
from stn.train import run_folder  # noqa: E402
from stn.train.data import load_training_data  # noqa: E402
from stn.train.optim import make_optimizer  # noqa: E402
from stn.train.packed import PackedRuns  # noqa: E402
from stn.train.provenance import git_commit, hardware, resolve_device  # noqa: E402
from stn.train.step import sgd_step  # noqa: E402

OPTIONS = {"out": os.environ.get("OUT", "device_out"), "budget_s": "540", "tiny": "false"}
PAPER_ITERATIONS, EPOCH_DIGITS = 150_000, 60_000


def _options(argv: list[str]) -> dict:
    options = dict(OPTIONS)
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in options:
            raise SystemExit(f"error: unknown option {arg!r}; options: {', '.join(OPTIONS)}")
        options[key] = value
    return {"out": Path(options["out"]), "budget_s": float(options["budget_s"]),
            "tiny": options["tiny"].lower() == "true"}


class Visit:
    """The budget, the log and the summary shared by the steps."""

    def __init__(self, out: Path, budget_s: float, tiny: bool):
        self.out, self.tiny, self.start = out, tiny, time.monotonic()
        self.deadline = self.start + budget_s
        out.mkdir(parents=True, exist_ok=True)
        self.log_file = (out / "log.txt").open("w")
        self.summary: dict = {"tiny": tiny, "budget_s": budget_s, "steps": {}}

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def log(self, text: str) -> None:
        line = f"[{time.monotonic() - self.start:6.1f}s] {text}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def run(self, args: list[str], timeout: float, output: Path | None = None) -> int:
        """A subprocess of the project's own entry points, its output into the log."""
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.log("$ " + " ".join(args))
        try:
            done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=max(timeout, 1))
        except subprocess.TimeoutExpired as error:
            self.log(f"timed out after {timeout:.0f}s")
            text, code = (error.stdout or b"").decode(errors="replace"), 124
        else:
            text, code = done.stdout + done.stderr, done.returncode
        if output is None:  # through the open log: a second handle would overwrite it
            self.log_file.write(text)
            self.log_file.flush()
        else:
            output.open("a").write(text)
        self.log(f"exit {code}")
        return code


def environment(visit: Visit) -> None:
    device = resolve_device("auto")
    env = {"device": str(device), "hardware": hardware(device), "torch": torch.__version__,
           "cuda": torch.version.cuda, "git_commit": git_commit()}
    query = "name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,memory.total"
    try:
        env["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        env["nvidia_smi"] = "not available"
    visit.summary["environment"] = env
    visit.log(f"environment: {env}")


def gpu_tests(visit: Visit) -> None:
    args = [sys.executable, "-m", "pytest", "-m", "gpu", "-p", "no:cacheprovider", "tests"]
    if visit.tiny:  # one of them, on the CPU: the dry run checks the plumbing
        os.environ["STN_GPU_TESTS_DEVICE"] = "cpu"
        args += ["-k", "headline"]
    code = visit.run(args, min(visit.left() * 0.3, 180), visit.out / "pytest.txt")
    tail = (visit.out / "pytest.txt").read_text().strip().splitlines()[-1:] or ["no output"]
    visit.summary["steps"]["gpu_tests"] = {"exit": code, "result": tail[0]}


def bench(visit: Visit) -> None:
    args = [sys.executable, "scripts/bench.py", f"out_dir={visit.out}"]
    args += ["bench=tiny"] if visit.tiny else ["datagen.loop_samples=500", "datagen.repeats=1"]
    code = visit.run(args, min(visit.left() * 0.3, 150))
    visit.summary["steps"]["bench"] = {"exit": code}


def time_protocol(visit: Visit) -> None:
    """Seconds per packed 3-seed step of every cell (after warm-up, synchronised), plus the
    epoch's redraw, extrapolated to the paper protocol."""
    steps = 1 if visit.tiny else 30
    datasets, models = (("r",), ("fcn", "st_fcn_aff")) if visit.tiny else (
        registry.dataset_names(), registry.model_names())
    rows = []
    device = resolve_device("auto")
    for data in datasets:
        overrides = [f"data={data}", "logger=none"]
        overrides += ["data.limit=600", "schedule=smoke"] if visit.tiny else []
        cfg = compose_train(overrides)
        loaded = load_training_data(cfg, device)
        start = time.perf_counter()
        loaded.train_batch([0], loaded.batches_per_epoch)  # one fresh epoch
        _sync(device)
        redraw_s = time.perf_counter() - start
        for model in models:
            if visit.left() < 60 + (0 if visit.tiny else 120):
                visit.log("timing: budget reached")
                break
            packed = PackedRuns(model, cfg.data.image_size, [0, 1, 2], device, "fp32")
            optimizer = make_optimizer(packed.params, cfg.schedule)
            times = []
            for it in range(steps + 2):
                images, labels = loaded.train_batch([0, 1, 2], it)
                _sync(device)
                t0 = time.perf_counter()
                sgd_step(packed, optimizer, images, labels)
                _sync(device)
                times.append(time.perf_counter() - t0)
            step_s = statistics.median(times[2:])  # after two warm-up steps
            epochs = PAPER_ITERATIONS * 256 / EPOCH_DIGITS
            cell_s = PAPER_ITERATIONS * step_s + epochs * redraw_s
            rows.append({"data": data, "model": model, "step_s": step_s,
                         "redraw_epoch_s": redraw_s, "cell_min": cell_s / 60})
            visit.log(f"timing {data}/{model}: {step_s * 1e3:.2f} ms/step, "
                      f"cell (3 seeds, 150k it) ~{cell_s / 60:.1f} min")
    columns = {d: sum(r["cell_min"] for r in rows if r["data"] == d) for d in datasets}
    visit.summary["steps"]["timing"] = {"rows": rows, "column_min": columns,
                                        "table_min": sum(columns.values())}


def protocol(visit: Visit) -> None:
    minutes = (visit.left() - 45) / 60
    if minutes < 1:
        visit.summary["steps"]["protocol"] = {"skipped": "no time left"}
        return
    runs = visit.out.parent / f"{visit.out.name}_runs"
    args = [sys.executable, "scripts/train.py", "-m", "experiment=table1", "logger=none",
            f"paths.runs_dir={runs}", f"trainer.max_minutes={minutes:.2f}",
            "trainer.progress=false", f"hydra.sweep.dir={runs}/hydra"]
    args += ["schedule=smoke", "data.limit=600", "data=r", "model=fcn"] if visit.tiny else []
    visit.run(args, visit.left() - 20)
    done = []
    with tarfile.open(visit.out / "runs.tar.gz", "w:gz") as archive:
        for config in sorted(runs.glob(f"*/*/seed=*/{run_folder.CONFIG_FILE}")):
            folder = config.parent
            for name in run_folder.RECORD_FILES:
                if (folder / name).exists():
                    archive.add(folder / name, arcname=str((folder / name).relative_to(runs)))
            final = run_folder.read_final(folder)
            if final:
                done.append({k: final[k] for k in ("data", "model", "seed", "test_error",
                                                   "wall_time_s")})
    visit.summary["steps"]["protocol"] = {"max_minutes": minutes, "complete": done}


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def write_summary(visit: Visit) -> str:
    s = visit.summary
    lines = ["# device check", "", f"- environment: {s.get('environment')}"]
    for name, step in s["steps"].items():
        if name != "timing":
            lines.append(f"- {name}: {json.dumps(step)[:600]}")
    timing = s["steps"].get("timing")
    if timing:
        lines += ["", "| data | column (8 cells x 3 seeds, 150k it) min |", "|---|---|"]
        lines += [f"| {d} | {m:.1f} |" for d, m in timing["column_min"].items()]
        lines.append(f"| **table** | **{timing['table_min']:.1f}** |")
    text = "\n".join(lines) + "\n"
    (visit.out / "summary.md").write_text(text)
    (visit.out / "summary.json").write_text(json.dumps(s, indent=2, default=str) + "\n")
    return text


def main(argv: list[str]) -> int:
    opts = _options(argv)
    visit = Visit(opts["out"], opts["budget_s"], opts["tiny"])
    for step in (environment, gpu_tests, bench, time_protocol, protocol):
        try:
            step(visit)
        except Exception as error:  # one broken step must not lose the others' output
            visit.log(f"{step.__name__} failed: {type(error).__name__}: {error}")
            visit.summary["steps"][step.__name__] = {"error": f"{type(error).__name__}: {error}"}
    print(write_summary(visit))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
