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
touches it at every checkpoint). A takeover renames the stale file away first,
so of two processes that find the same stale lock only one can claim the run.
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
            _set_aside(path)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump({"host": _HOST, "pid": os.getpid(), "token": _TOKEN,
                       "since": time.time()}, handle)
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


def _set_aside(path: Path) -> None:
    try:
        stale = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
        os.rename(path, stale)
        stale.unlink(missing_ok=True)
    except FileNotFoundError:
        pass  # another process took it over first: the retry sees its lock
