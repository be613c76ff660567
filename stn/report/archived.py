"""Tables kept as an archive of small run records (the readings, the schedule trials).

The runs found under a runs root are copied into results/<name>/, then the whole archive
is tabulated, so rows committed earlier (on another machine, whose runs/ is gone) keep
their place in the table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from stn.train import run_folder


def archive(frame: pd.DataFrame, archive_root: Path, target_of: Callable[[tuple], Path]) -> None:
    """Copy each run's small records to ``archive_root / target_of(row)``. Only the runs
    found are replaced, and a complete record never by an unfinished run."""
    for row in frame.itertuples():
        target = archive_root / target_of(row)
        if run_folder.read_final(target) is not None and row.state != "complete":
            continue
        run_folder.copy_records(Path(row.folder), target)


def write_archived_table(root: str | Path, results: str | Path, name: str, *,
                         collect: Callable[[Path], pd.DataFrame],
                         target_of: Callable[[tuple], Path], columns: list[str],
                         markdown: Callable[[pd.DataFrame, str], str],
                         command: str) -> list[Path]:
    """Archive the runs under ``root`` into ``results/<name>/``, then write
    ``results/<name>.csv`` and ``.md`` from the whole archive."""
    results = Path(results)
    archive(collect(Path(root)), results / name, target_of)
    frame = collect(results / name)
    frame["record"] = [Path(f).relative_to(results).as_posix() for f in frame["folder"]]
    frame[columns].to_csv(results / f"{name}.csv", index=False, float_format="%.4g")
    (results / f"{name}.md").write_text(markdown(frame, command))
    return [results / f"{name}.csv", results / f"{name}.md"]
