"""train(cfg): the training loop behind scripts/train.py.

One call trains the runs of one table cell: seeds seed .. seed+n_seeds-1 of
one model on one dataset, packed into one vmapped step (see packed.py). Each
run keeps its own folder, checkpoint, metrics and status. Runs that are
already complete are skipped; interrupted ones resume from their checkpoint
and end bit for bit where an uninterrupted run would (CPU).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from stn.allocator import keep_freed_memory
from stn.atomic import atomic_write_json, atomic_write_text
from stn.errors import CheckpointError, UserError
from stn.train import run_folder as rf
from stn.train import run_lock
from stn.train.checkpoint import check_resumable, load_checkpoint, save_checkpoint
from stn.train.data import TrainingData, load_training_data
from stn.train.optim import (
    learning_rate,
    load_momentum_slice,
    make_optimizer,
    momentum_slice,
    set_learning_rate,
)
from stn.train.packed import PackedRuns
from stn.train.panels import TransformPanels
from stn.train.provenance import as_trained, git_commit, hardware, versions
from stn.train.step import sgd_step
from stn.train.tracking import open_tracker
from stn.train.validate import validate

# trainer.max_minutes counts from process start, so the jobs of one sweep share
# one budget (one GPU job of at most 10 minutes, say).
_clock = time.monotonic  # one clock for budgets and wall time (tests replace it)
PROCESS_START = _clock()
git_commit()  # record the commit of the code as it was imported
EVAL_CHUNK = 1000


@dataclass
class Run:
    seed: int
    folder: Path
    fingerprint: str
    config: dict[str, Any]
    state: dict[str, Any] | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    tracker: Any = None
    active: bool = True

    @property
    def start_iteration(self) -> int:
        return self.state["iteration"] if self.state else 0


def train(cfg) -> list[dict[str, Any]]:
    """Train (or resume, or skip) every run of the cell; return their final metrics."""
    data = validate(cfg)  # cfg.data typed onto its schema: merged once per run start
    keep_freed_memory()
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    # A copy (the caller's config stays as given) with the precision the runs train in,
    # not "auto": what they record and are fingerprinted by.
    cfg, device = as_trained(cfg)
    # A DictConfig re-parses an interpolation (stn.per_cell's per-cell values) at every
    # read, and the loop reads the schedule at every step: resolved once, here.
    OmegaConf.resolve(cfg)
    config = OmegaConf.to_container(cfg, resolve=True)
    finals, pending = [], []
    try:
        for seed in range(cfg.seed, cfg.seed + cfg.trainer.n_seeds):
            run = _prepare_run(cfg, {**config, "seed": seed}, seed)
            if isinstance(run, dict):
                finals.append(run)
            elif run is not None:
                pending.append(run)
        if pending:
            _train_pending(cfg, pending, finals, device, data)
    finally:
        for run in pending:
            run_lock.release(run.folder)
    return finals


def _train_pending(cfg, pending: list[Run], finals: list, device, data_cfg) -> None:
    _align_pack(pending)
    data = load_training_data(cfg, device, data_cfg)
    for start in sorted({run.start_iteration for run in pending}):
        group = [run for run in pending if run.start_iteration == start]
        finals.extend(_train_pack(cfg, group, data, device))


def _align_pack(pending: list[Run]) -> None:
    """Runs of one pack killed between their checkpoint writes stand at two iterations:
    the ones ahead step back to their previous checkpoint, so the pack resumes whole
    (a pack not yet checkpointed everywhere restarts from the beginning, also exact).
    Runs checkpointed in a pack of another size (trained apart) are left as they are."""
    members = [r for r in pending if r.state is None or r.state.get("pack") == len(pending)]
    if len(members) < 2:
        return
    target = min(run.start_iteration for run in members)
    for run in members:
        if run.start_iteration == target:
            continue
        state = None
        if target > 0:
            state = load_checkpoint(run.folder, run.fingerprint, previous=True)
            if state is None or state["iteration"] != target:
                continue  # cannot be aligned: check_resumable names the way out
        run.state, run.rows = state, list(state["rows"]) if state else []


def _deadline(cfg) -> float | None:
    """Monotonic time after which no new iteration starts (None: no budget)."""
    if not cfg.trainer.max_minutes:
        return None
    budget = cfg.trainer.max_minutes * 60
    return PROCESS_START + budget - max(10.0, 0.05 * budget)  # room for the last checkpoint


def _prepare_run(cfg, run_config: dict, seed: int) -> Run | dict | None:
    """The run to train, its final metrics when complete, or None while another process
    trains it (stn/train/run_lock.py): that one is skipped with a line saying so."""
    folder = rf.run_dir(cfg.paths.runs_dir, cfg.data.name, cfg.model.name, seed)
    fingerprint = rf.fingerprint(run_config)
    final = rf.read_final(folder)
    if final is not None:
        if final.get("fingerprint") != fingerprint:
            raise CheckpointError(
                f"{folder} holds a complete run of a different config; "
                "use another paths.runs_dir or delete the folder"
            )
        print(f"{folder}: already complete, skipped")
        return final
    # Checked before the folder is claimed: a sweep past its budget leaves no
    # config-only folder behind for the cells it never started.
    deadline = _deadline(cfg)
    if deadline is not None and _clock() > deadline:
        print(f"{folder}: time budget spent (trainer.max_minutes="
              f"{cfg.trainer.max_minutes}) before it started; re-run to continue")
        return None
    with _writing(folder):
        holder = run_lock.acquire(folder)
    if holder is not None:
        print(f"{folder}: being trained by {run_lock.describe(holder)}, skipped; "
              "re-run once it stops to continue or check it")
        return None
    if rf.read_final(folder) is not None:  # finished while this process waited for the lock
        run_lock.release(folder)
        return _prepare_run(cfg, run_config, seed)
    try:
        state = load_checkpoint(folder, fingerprint)
        with _writing(folder):
            atomic_write_text(folder / rf.CONFIG_FILE, OmegaConf.to_yaml(run_config))
    except BaseException:
        run_lock.release(folder)  # not trained after all: free it at once
        raise
    run = Run(seed, folder, fingerprint, run_config, state)
    if state:
        run.rows = list(state["rows"])
    return run


@contextmanager
def _writing(folder: Path):
    """An OS error while claiming or writing the run folder, as a one-line UserError."""
    try:
        yield
    except OSError as error:
        raise UserError(f"cannot write the run folder {folder}: {error.strerror}") from error


class Pack:
    """The runs of one pack and what they share: the packed model and its optimiser, the
    training window's counters, and the last iteration safely on disk. Each method does
    one piece of the runs' bookkeeping (restore, checkpoint, log, stop, fail, finish)."""

    def __init__(self, cfg, runs: list[Run], device):
        self.cfg, self.runs, self.device = cfg, runs, device
        # The schedule as a plain dataclass, what the pack reads it through: the loop
        # reads it at every step, where a DictConfig attribute costs microseconds each.
        self.schedule = s = OmegaConf.to_object(cfg.schedule)
        self.start = runs[0].start_iteration  # runs of one pack start at one iteration
        self.checkpointed = self.start  # resume point if the pack stops or fails now
        self.model = PackedRuns(cfg.model.name, cfg.data.image_size, [r.seed for r in runs],
                                device, s.precision, cfg.model.budget)
        self.optimizer = make_optimizer(self.model.params, s)
        # The window's loss and correct counts since the last evaluation, per run; its
        # count of digits is fixed by the iteration, so the runs share it.
        self.window_loss = torch.zeros(len(runs), device=device)
        self.window_correct = torch.zeros(len(runs), device=device)
        self.window_count = 0
        self.batch = s.batch_size  # digits per run per step
        self.wall_before = [0.0] * len(runs)  # each run's wall time before this process
        self.t0 = _clock()

    @property
    def active(self) -> list[tuple[int, Run]]:
        return [(k, run) for k, run in enumerate(self.runs) if run.active]

    def restore(self) -> None:
        """Load each resumed run's checkpoint into its slice, open its tracker, mark it
        running. The global torch RNG draws nothing after the initial weights (data and
        distortions use their own generators), so it needs no restoring."""
        cfg = self.cfg
        for k, run in enumerate(self.runs):
            if run.state:
                path = run.folder / rf.CHECKPOINT_FILE
                check_resumable(path, run.state, len(self.runs), self.device.type)
                try:
                    self.model.load_state_dict(k, run.state["model"])
                except (KeyError, RuntimeError) as error:
                    raise CheckpointError(
                        f"{path} does not fit model {cfg.model.name} "
                        "(the code changed since?); delete it to restart the run"
                    ) from error
                rf.write_metrics(run.folder, run.rows)  # drop rows logged after the checkpoint
                load_momentum_slice(self.optimizer, self.model.params, k, run.state["momentum"])
                self.window_loss[k] = run.state["window"]["loss"].to(self.device)
                self.window_correct[k] = run.state["window"]["correct"].to(self.device)
                self.window_count = run.state["window"]["count"]
                self.wall_before[k] = run.state["wall_time_s"]
            run.tracker = open_tracker(
                cfg.logger, run.folder, f"{cfg.data.name}/{cfg.model.name}/seed={run.seed}",
                f"{cfg.data.name}/{cfg.model.name}", run.config, f"{run.fingerprint}-{run.seed}",
            )
            rf.write_status(run.folder, "running", self.start)
        self.t0 = _clock()

    def step(self, iteration: int, data: TrainingData, bad: torch.Tensor) -> float:
        """One SGD step of every run at ``iteration``; returns the learning rate. ``bad``
        collects the runs whose loss or transform went non-finite (checked later)."""
        lr = learning_rate(self.schedule, iteration)
        set_learning_rate(self.optimizer, lr)
        images, labels = data.train_batch([r.seed for r in self.runs], iteration)
        losses, logits, theta = sgd_step(self.model, self.optimizer, images, labels)
        bad |= ~torch.isfinite(losses) | ~torch.isfinite(theta).flatten(1).all(1)
        self.window_loss += losses
        self.window_correct += (logits.argmax(-1) == labels).sum(1)
        self.window_count += labels.shape[1]
        self.batch = labels.shape[1]
        return lr

    def checkpoint(self, iteration: int) -> None:
        elapsed = _clock() - self.t0
        for k, run in self.active:
            save_checkpoint(run.folder, {
                "fingerprint": run.fingerprint, "iteration": iteration, "config": run.config,
                "model": self.model.state_dict(k),
                "momentum": momentum_slice(self.optimizer, self.model.params, k),
                "window": {"loss": self.window_loss[k].cpu(),
                           "correct": self.window_correct[k].cpu(), "count": self.window_count},
                "rows": run.rows, "wall_time_s": self.wall_before[k] + elapsed,
                "pack": len(self.runs), "device": self.device.type,  # what exact resume needs
            })
            run_lock.refresh(run.folder)  # the lock's heartbeat
        self.checkpointed = iteration

    def log_evaluation(self, done: int, lr: float, data: TrainingData,
                       panels: TransformPanels) -> float:
        """Evaluate every run, log one metrics row (and an ST's transformation panel) each,
        reset the window; returns the best run's error for the progress bar."""
        s = self.schedule
        n_eval = data.n_eval if done == s.iterations else min(s.eval_samples, data.n_eval)
        errors = evaluate(self.model, data.eval_images, data.eval_labels, n_eval)
        split = data.eval_split  # "test", or "val": held-out training digits
        steps = self.window_count / self.batch
        for k, run in self.active:
            row = {"iteration": done, "lr": lr,
                   "train_loss": (self.window_loss[k] / steps).item(),
                   "train_error": 100.0 * (1 - self.window_correct[k].item() / self.window_count),
                   f"{split}_error": errors[k].item(), f"{split}_samples": n_eval}
            run.rows.append(row)
            rf.write_metrics(run.folder, run.rows)
            run.tracker.log({key: v for key, v in row.items() if key != "iteration"}, done)
        panels.log(self, done)
        self.window_loss.zero_()
        self.window_correct.zero_()
        self.window_count = 0
        return errors.min().item()

    def fail_broken(self, bad: torch.Tensor, iteration: int) -> bool:
        """Mark failed every run whose loss or transform went non-finite (never checkpointing
        its weights); returns whether any run is left to train."""
        for k in torch.nonzero(bad).flatten().tolist():
            run = self.runs[k]
            if run.active:
                run.active = False
                reason = (f"NaN or inf in the loss or the transform parameters by iteration "
                          f"{iteration}")
                rf.write_status(run.folder, "failed", iteration, reason)
                run.tracker.finish(exit_code=1)
                print(f"error: {run.folder}: {reason}")
        return bool(self.active)

    def stop(self, iteration: int) -> None:
        """The time budget is spent: checkpoint and mark the runs stopped (resumable)."""
        self.checkpoint(iteration)
        for _, run in self.active:
            rf.write_status(run.folder, "stopped", iteration, "time budget reached "
                            f"(trainer.max_minutes={self.cfg.trainer.max_minutes}); "
                            "re-run the same command to continue")
            run.tracker.finish()
        print(f"time budget reached at iteration {iteration}; re-run to continue")

    def finish(self) -> list[dict[str, Any]]:
        """Write each finished run's final.json (the mark of completion); their finals."""
        cfg, elapsed = self.cfg, _clock() - self.t0
        split = "val" if cfg.data.validation else "test"  # a validation run has no test error
        finals = []
        for k, run in self.active:
            last = run.rows[-1]
            final = {
                "data": cfg.data.name, "model": cfg.model.name, "seed": run.seed,
                "schedule": self.schedule.name, "fingerprint": run.fingerprint,
                f"{split}_error": last[f"{split}_error"],
                f"{split}_samples": last[f"{split}_samples"],
                "params": self.model.n_params, "iterations": self.schedule.iterations,
                "wall_time_s": self.wall_before[k] + elapsed, "packed_runs": len(self.runs),
                "device": str(self.device), "hardware": hardware(self.device),
                "git_commit": git_commit(), "versions": versions(),
            }
            atomic_write_json(run.folder / rf.FINAL_FILE, final)
            rf.write_status(run.folder, "complete", self.schedule.iterations)
            run.tracker.log({f"final_{split}_error": final[f"{split}_error"]},
                            self.schedule.iterations)
            run.tracker.finish()
            finals.append(final)
        return finals


def _train_pack(cfg, runs: list[Run], data: TrainingData, device) -> list[dict[str, Any]]:
    """Train one pack; whatever stops it, no run is left marked running or complete."""
    pack = None
    try:
        pack = Pack(cfg, runs, device)
        pack.restore()
        return _run_pack(pack, data)
    except BaseException as error:
        resume = runs[0].start_iteration if pack is None else pack.checkpointed
        if isinstance(error, KeyboardInterrupt):  # resumable: the checkpoint is intact
            status, reason = "stopped", f"interrupted; re-run to resume from iteration {resume}"
        else:
            status, reason = "failed", f"{type(error).__name__}: {error}"[:300]
        for run in runs:
            if run.active:
                rf.write_status(run.folder, status, resume, reason)
        raise


def _run_pack(pack: Pack, data: TrainingData) -> list[dict[str, Any]]:
    cfg, s = pack.cfg, pack.schedule
    deadline, check_every = _deadline(cfg), _check_every(cfg, pack.device)
    checkpoint_every = cfg.trainer.checkpoint_every
    bad = torch.zeros(len(pack.runs), dtype=torch.bool, device=pack.device)
    panels = TransformPanels(cfg, data.eval_images)
    bar = tqdm(total=s.iterations, initial=pack.start, disable=not cfg.trainer.progress,
               desc=f"{cfg.data.name}/{cfg.model.name} seeds={[r.seed for r in pack.runs]}",
               unit="it", mininterval=2.0, dynamic_ncols=True)
    with bar:
        for it in range(pack.start, s.iterations):
            if deadline is not None and _clock() > deadline:
                if pack.fail_broken(bad, it):  # never checkpoint weights that went NaN
                    pack.stop(it)
                return []
            lr = pack.step(it, data, bad)
            done = it + 1
            bar.update(1)
            checkpoint_due = done % checkpoint_every == 0 or done == s.iterations
            # A GPU check syncs: not every step, but always before a checkpoint.
            if (done % check_every == 0 or checkpoint_due) and not pack.fail_broken(bad, done):
                return []
            if done % s.eval_every == 0 or done == s.iterations:
                best = pack.log_evaluation(done, lr, data, panels)
                bar.set_postfix({f"{data.eval_split}_error": f"{best:.2f}%"})
            if checkpoint_due:
                pack.checkpoint(done)
    return pack.finish()


def _check_every(cfg, device) -> int:
    """Iterations between NaN checks: every step on a CPU; on a GPU a check syncs, so
    every trainer.nan_check_every steps (and before every checkpoint)."""
    return 1 if device.type == "cpu" else cfg.trainer.nan_check_every


@torch.no_grad()
def evaluate(packed: PackedRuns, images: torch.Tensor, labels: torch.Tensor, n: int):
    """% error of every packed run on the first n digits of an evaluation set."""
    wrong = torch.zeros(len(packed.seeds), device=labels.device)
    for lo in range(0, n, EVAL_CHUNK):
        batch = images[lo:min(lo + EVAL_CHUNK, n)].float().div_(255)
        logits, _ = packed.forward(batch, shared_input=True)
        wrong += (logits.argmax(-1) != labels[lo:lo + batch.shape[0]]).sum(1)
    return 100.0 * wrong / n
