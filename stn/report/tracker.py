"""The report in wandb: one "report" run per rebuilt profile holding Table 1 (ours,
paper, Δ, n), the runs table and the figures, offline by default like training
(`wandb sync` uploads it). The results/ files stay the source of truth; this is a
copy a researcher can browse beside the training runs.

A profile's report run has a stable id (report_run_id: its runs root and profile), so
rebuilding the report replaces it instead of adding another: wandb writes a new local
folder on every init, even offline with the same id and resume="allow", so the previous
folder(s) of that id are removed first. One run per (runs root, profile) is left to sync,
and online the same id resumes the same wandb run."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pandas as pd

from stn.report.runs import RUN_COLUMNS

# wandb's local run folders: [offline-]run-<YYYYmmdd_HHMMSS>-<run id>
_RUN_FOLDER = re.compile(r"(?:offline-)?run-\d{8}_\d{6}-(?P<id>.+)")


def report_run_id(runs_root: Path, profile: str) -> str:
    """'report-<profile>-<12 hex>', at most 64 characters of [a-z0-9-_] as wandb requires:
    the hash of the resolved runs root and the profile tells roots (and profiles whose
    names differ only in characters replaced here) apart."""
    digest = hashlib.sha256(f"{Path(runs_root).resolve()}\0{profile}".encode()).hexdigest()
    readable = re.sub(r"[^a-z0-9_-]+", "-", profile.lower()).strip("-")[:32]
    return f"report-{readable}-{digest[:12]}" if readable else f"report-{digest[:12]}"


def remove_previous_runs(wandb_dir: Path, run_id: str) -> list[Path]:
    """Delete the local wandb folders of ``run_id`` below ``wandb_dir``; returns them."""
    removed = []
    for path in sorted(wandb_dir.glob(f"*run-*-{run_id}")):
        match = _RUN_FOLDER.fullmatch(path.name)
        if path.is_dir() and not path.is_symlink() and match and match["id"] == run_id:
            shutil.rmtree(path)
            removed.append(path)
    return removed


def log_report(profile: str, table1: pd.DataFrame, runs: pd.DataFrame, figures: list[Path],
               folder: Path, project: str) -> Path:
    """Log one profile's report to a wandb run stored in <folder>/wandb/ (wandb's own
    layout, as for training runs), replacing that profile's previous report run there;
    returns the run's directory."""
    import wandb  # imported lazily: slow to import and unused with report.logger=none

    folder.mkdir(parents=True, exist_ok=True)
    run_id = report_run_id(folder, profile)
    remove_previous_runs(folder / "wandb", run_id)
    run = wandb.init(
        project=project, name=f"report/{profile}", group="report", job_type="report",
        id=run_id, resume="allow",
        dir=str(folder), mode=os.environ.get("WANDB_MODE", "offline"), reinit="create_new",
        config={"profile": profile}, settings=wandb.Settings(silent=True, console="off"),
    )
    rows = runs[runs["profile"] == profile][RUN_COLUMNS].astype({"path": str})
    entries = {"table1": wandb.Table(dataframe=table1), "runs": wandb.Table(dataframe=rows)}
    entries.update({f"figures/{path.stem}": wandb.Image(str(path)) for path in figures})
    run.log(entries)
    run.finish()
    return Path(run.dir).parent
