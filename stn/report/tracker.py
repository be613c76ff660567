"""The report in wandb: one "report" run per rebuilt profile holding Table 1 (ours,
paper, Δ, n), the runs table and the figures, offline by default like training
(`wandb sync` uploads it). The results/ files stay the source of truth; this is a
copy a researcher can browse beside the training runs."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from stn.report.runs import RUN_COLUMNS


def log_report(profile: str, table1: pd.DataFrame, runs: pd.DataFrame, figures: list[Path],
               folder: Path, project: str) -> Path:
    """Log one profile's report to a wandb run stored in <folder>/wandb/ (wandb's own
    layout, as for training runs); returns the run's directory."""
    import wandb  # imported lazily: slow to import and unused with report.logger=none

    folder.mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        project=project, name=f"report/{profile}", group="report", job_type="report",
        dir=str(folder), mode=os.environ.get("WANDB_MODE", "offline"), reinit="create_new",
        config={"profile": profile}, settings=wandb.Settings(silent=True, console="off"),
    )
    rows = runs[runs["profile"] == profile][RUN_COLUMNS].astype({"path": str})
    entries = {"table1": wandb.Table(dataframe=table1), "runs": wandb.Table(dataframe=rows)}
    entries.update({f"figures/{path.stem}": wandb.Image(str(path)) for path in figures})
    run.log(entries)
    run.finish()
    return Path(run.dir).parent
