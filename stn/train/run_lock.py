"""One trainer per run folder at a time, across processes and machines sharing the runs root.

Two sweeps over overlapping cells (two launchers, a re-run started while the
first is still going, array jobs on a cluster) must never train one run twice at
once: both would write the same checkpoint and metrics. The lock is a file
created with O_CREAT | O_EXCL, which is atomic on local file systems and on NFS
v3+, and it works between machines, unlike flock/fcntl locks, which are
per-host on many network file systems.

A lock whose holder is gone is stale and is taken over: on the same host, when
its process no longer exists; from another host (whose processes cannot be
seen), when the holder has not refreshed it for STALE_AFTER_S (the trainer
touches it at every checkpoint); at once when it was taken by an earlier life of
this very SLURM job (one killed or preempted and requeued, on this node or
another: SLURM runs one life of a job at a time). A takeover renames the stale
file away first, so of two processes that find the same stale lock only one can
claim the run; the one that finds it has renamed another's fresh lock instead
(the other claimed the run in between) puts that lock back.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from pathlib import Path

LOCK_FILE = "lock.json"
# A trainer refreshes its lock at every checkpoint (trainer.checkpoint_every steps:
# minutes at most even for the slowest CPU cell), so a lock this old has no live holder.
STALE_AFTER_S = 30 * 60
# Identifies this process's locks (a pid alone can be reused after a restart).
_TOKEN = uuid.uuid4().hex
_HOST = socket.gethostname()


def _slurm_job() -> str | None:
    """This process's SLURM job and task (kept across a requeue), or None outside SLURM."""
    job = os.environ.get("SLURM_JOB_ID")
    return None if job is None else f"{job}.{os.environ.get('SLURM_PROCID', '0')}"


def acquire(folder: Path) -> dict | None:
    """Claim the run folder: None when claimed, else the live holder's record."""
    path = folder / LOCK_FILE
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(3):  # a stale lock is renamed away, then the claim is retried
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(path)
            if holder is not None and not _stale(holder, path):
                return holder
            _set_aside(path, holder)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump({"host": _HOST, "pid": os.getpid(), "token": _TOKEN,
                       "slurm_job": _slurm_job(), "since": time.time()}, handle)
        return None
    return _read(path) or {"host": "?", "pid": "?", "since": time.time()}


def refresh(folder: Path) -> None:
    """Show that the holder is alive (the lock's mtime is its heartbeat)."""
    with contextlib.suppress(OSError):  # removed by hand: the run goes on regardless
        os.utime(folder / LOCK_FILE)


def release(folder: Path) -> None:
    """Remove the lock if this process holds it."""
    path = folder / LOCK_FILE
    holder = _read(path)
    if holder is not None and holder.get("token") == _TOKEN:
        path.unlink(missing_ok=True)


def describe(holder: dict) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
    return f"host {holder.get('host')} pid {holder.get('pid')} since {since}"


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # being written, or unreadable: judged by its age alone


def _stale(holder: dict, path: Path) -> bool:
    if holder.get("token") == _TOKEN:
        return True  # this process: a run it left without releasing (it trains one at a time)
    if _slurm_job() is not None and holder.get("slurm_job") == _slurm_job():
        return True  # an earlier life of this job, killed before it could release the lock
    if holder.get("host") == _HOST and isinstance(holder.get("pid"), int):
        return not _alive(holder["pid"])
    try:
        return time.time() - path.stat().st_mtime > STALE_AFTER_S
    except FileNotFoundError:
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def _set_aside(path: Path, judged: dict | None) -> None:
    """Rename away the lock judged stale (``judged``: its record when judged). If the
    file renamed is no longer that lock, another process claimed the run meanwhile:
    its lock goes back (os.link fails rather than replace a third claimant's)."""
    moved = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, moved)
    except FileNotFoundError:
        return  # another process took it over first: the retry sees its lock
    if _read(moved) != judged:
        with contextlib.suppress(FileExistsError):
            os.link(moved, path)
    moved.unlink(missing_ok=True)
