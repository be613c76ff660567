"""Write the whole results report: tables (CSV + markdown), params, figures, index.html.

One table per profile (schedule name) as table1_<profile>.{csv,md}; the headline
profile is copied to table1.{csv,md}: the one run with the paper protocol if
any, else the one with the most iterations (``profile`` pins it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import torch

from stn.budget import parameter_table
from stn.errors import UserError
from stn.models import build_model
from stn.report import compare, cost, paper, table
from stn.report.readme import splice_readme
from stn.report.runs import RUN_COLUMNS, collect_runs
from stn.train import run_folder, sweep_clock

NOTES = [
    "Ours: mean ± sample standard deviation (ddof=1) of the final % test error (final.json; "
    "all 10,000 test digits unless the line above says otherwise), over the seeds whose run "
    "finished (n); n=1 shows no std. "
    "A run without final.json (running, stopped, failed) never counts.",
    "Δ = our mean − the paper's number (percentage points).",
    "missing: no finished run (never filled in; with no count, the cell has not been "
    "trained under this runs root at all); failed (k): every run of the cell failed.",
    "† " + paper.PAPER_TC_NOTE,
]


def require_profile(infos: dict[str, dict], name: str, option: str) -> str:
    if name not in infos:
        raise UserError(f"{option}: no runs of profile {name!r}; found: {', '.join(sorted(infos))}")
    return name


def headline_profile(infos: dict[str, dict], pinned: str | None) -> str:
    if pinned is not None:
        return require_profile(infos, pinned, "report.profile")
    return max(
        infos,
        key=lambda p: (
            infos[p]["paper_protocol"],
            max(infos[p]["iterations"]),
            infos[p]["counts"].get("complete", 0),
            p,
        ),
    )


def table_markdown(tab: pd.DataFrame, info: dict, runs_root: Path, command: str) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(info["counts"].items()))
    lines = [
        f"# Table 1 (left): % test error on distorted MNIST, profile `{info['profile']}`",
        "",
        table.profile_headline(info),
        "",
        f"- Runs root: `{runs_root}` ({counts})",
        f"- Hardware: {', '.join(info['hardware']) or 'unknown'}",
        f"- Git commit of the runs: {', '.join(info['git_commits']) or 'unknown'}",
        f"- Command: `{command}`",
        "",
        table.to_markdown(table.display_table(tab)),
        *[f"- {note}" for note in NOTES],
    ]
    return "\n".join(lines) + "\n"


def params_table() -> pd.DataFrame:
    """stn.budget's parameter table (every model at every image size, with the budget
    rule's width and ratio) plus the label and the spatial transformer's own share."""
    table = pd.DataFrame(parameter_table())
    st_params = []
    for name, size in zip(table["model"], table["image_size"], strict=True):
        with torch.device("meta"):  # shapes only: no memory, no random draws
            st = build_model(name, int(size)).spatial_transformer
        st_params.append(0 if st is None else sum(p.numel() for p in st.parameters()))
    table.insert(1, "label", table["model"].map(paper.model_label))
    table.insert(table.columns.get_loc("params") + 1, "st_params", st_params)
    return table


def write_report(
    runs_root: str | Path,
    results_dir: str | Path,
    data_dir: str | Path,
    mnist_dir: str | Path | None = None,
    *,
    profile: str | None = None,
    figures: bool = True,
    params: bool = True,
    command: str = "python scripts/report.py",
    compare: list[str] | None = None,
    clean: bool = False,
    logger: str = "none",
    project: str = "stn-mnist",
) -> list[Path]:
    """Build everything from the run folders below runs_root; returns the files written.

    The committed records of profiles not under runs_root (results/runs/) stay and keep
    their tables and rows, unless ``clean`` (report.clean=true) deletes them. With
    ``logger="wandb"`` each rebuilt profile's table, runs and figures also go to one
    wandb report run, stored offline under <runs_root>/wandb (stn.report.tracker)."""
    if logger not in ("wandb", "none"):
        raise UserError(f"report.logger={logger!r}: choose wandb or none")
    runs_root, results = Path(runs_root), Path(results_dir)
    runs = collect_runs(runs_root)
    if runs.empty:
        raise UserError(f"no run folders below {runs_root}; train first or set report.runs_root")
    rebuilt = set(runs["profile"])
    if clean and not _inside(results / "runs", runs["path"]):
        shutil.rmtree(results / "runs", ignore_errors=True)
        for path in results.glob("table1_*.*"):  # the tables of the profiles dropped
            if path.stem.removeprefix("table1_") not in rebuilt:
                path.unlink()
    archived = collect_runs(results / "runs") if (results / "runs").is_dir() else runs.iloc[:0]
    # Profiles not under this runs root keep their committed records (results/runs/):
    # their tables and rows stay in the report, drawn from those records.
    runs = pd.concat([runs, archived[~archived["profile"].isin(rebuilt)]], ignore_index=True)
    results.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    tables, infos = {}, {}
    for name, group in runs.groupby("profile", sort=True):
        infos[name] = table.describe_profile(group)
        tables[name] = table.table1(group)
        tables[name].insert(0, "profile", name)
        if name not in rebuilt and (results / f"table1_{name}.md").exists():
            continue  # kept records: their tables stay as the command that made them wrote them
        for suffix, text in (
            ("csv", tables[name].to_csv(index=False)),
            ("md", table_markdown(tables[name], infos[name], runs_root, command)),
        ):
            path = results / f"table1_{name}.{suffix}"
            path.write_text(text)
            written.append(path)
    head = headline_profile(infos, profile)
    if head not in rebuilt:
        figures = False  # its records hold no checkpoints; the committed figures stay
    for suffix in ("csv", "md"):
        shutil.copyfile(results / f"table1_{head}.{suffix}", results / f"table1.{suffix}")
        written.append(results / f"table1.{suffix}")
    splice_readme(results, "table1", (results / "table1.md").read_text())
    # The README may also show any profile's own table (block table1_<profile>), so the
    # rows the headline profile lacks (the CNN rows of a CPU-only paper protocol) show.
    for name in tables:
        splice_readme(results, f"table1_{name}", (results / f"table1_{name}.md").read_text())

    if params:
        path = results / "params.csv"
        params_table().to_csv(path, index=False)
        written.append(path)

    figure_notes: dict[str, str] = {}
    if figures:
        from stn.report import figures as figs  # torch + matplotlib: not for figures=false

        written += figs.write_figures(
            runs[runs["profile"] == head], results / "figures", data_dir, mnist_dir, figure_notes
        )

    if compare:
        written += write_comparison(runs, infos, results, compare, command)

    records = archive_records(runs, results, rebuilt)
    archive_sittings(runs_root, results, rebuilt)
    runs_csv = results / "runs.csv"
    records[RUN_COLUMNS].to_csv(runs_csv, index=False)
    written.append(runs_csv)
    written += write_cost(records, results, command)

    from stn.report.html import write_index

    written.append(write_index(results, records, tables, infos, head, figure_notes, NOTES))
    if logger == "wandb":
        from stn.report.tracker import log_report

        pngs = sorted((results / "figures").glob("*.png"))
        for name in sorted(rebuilt):
            log_report(name, tables[name], records, pngs if name == head else [],
                       runs_root, project)
    return written


def write_cost(records: pd.DataFrame, results: Path, command: str) -> list[Path]:
    """results/cost.{csv,md}: each profile's finished runs summed per seed (stn.report.cost)
    and the timed sittings of make reproduce-mnist archived in results/runs; README block
    ``cost``."""
    frame = cost.cost_table(records)
    sittings = [s for path in sorted((results / "runs").glob(f"*/{sweep_clock.SITTINGS_FILE}"))
                for s in sweep_clock.read_sittings(path)]
    text = cost.cost_markdown(frame, command, cost.sittings_table(sittings))
    frame.to_csv(results / "cost.csv", index=False)
    (results / "cost.md").write_text(text)
    splice_readme(results, "cost", text)
    return [results / "cost.csv", results / "cost.md"]


def write_comparison(runs: pd.DataFrame, infos: dict[str, dict], results: Path,
                     names: list[str], command: str):
    """results/compare_<baseline>_vs_<candidate>.{csv,md} (stn.report.compare)."""
    if len(names) != 2:
        raise UserError(f"report.compare takes two profiles, baseline then candidate, not {names}")
    baseline, candidate = (require_profile(infos, name, "report.compare") for name in names)
    frame = compare.compare_profiles(runs, baseline, candidate)
    stem = results / f"compare_{baseline}_vs_{candidate}"
    frame.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".md").write_text(
        compare.comparison_markdown(frame, infos, baseline, candidate, command)
    )
    return [stem.with_suffix(".csv"), stem.with_suffix(".md")]


def archive_records(runs: pd.DataFrame, results: Path, rebuilt: set[str]) -> pd.DataFrame:
    """Copy each run's small record files to results/runs/<profile>/<data>/<model>/seed=<n>/.

    The run folders themselves are gitignored (checkpoints, wandb), so the
    committed report links to these copies; `path` in the result points there and
    ``run_path`` keeps the run folder itself (for the link to its wandb/ folder;
    for a kept profile it is the record). Only the ``rebuilt`` profiles are replaced
    (nothing stale survives in them); the committed records of other profiles stay
    as they are.
    """
    archive = results / "runs"
    for profile in rebuilt:
        if not _inside(archive / profile, runs[runs["profile"] == profile]["path"]):
            shutil.rmtree(archive / profile, ignore_errors=True)
    paths = []
    for run in runs.itertuples():
        target = archive / run.profile / run.data / run.model / f"seed={run.seed}"
        if Path(run.path).resolve() == target.resolve():  # already the record (kept profile)
            paths.append(target)
            continue
        run_folder.copy_records(Path(run.path), target)
        paths.append(target)
    return runs.assign(run_path=runs["path"], path=paths)


def archive_sittings(runs_root: Path, results: Path, rebuilt: set[str]) -> None:
    """Copy the timed sittings (sweeps.jsonl, stn.train.sweep_clock) of each rebuilt profile
    found below runs_root to results/runs/<profile>/, beside its run records."""
    by_profile: dict[str, list[dict]] = {}
    for path in sorted(Path(runs_root).rglob(sweep_clock.SITTINGS_FILE)):
        for sitting in sweep_clock.read_sittings(path):
            by_profile.setdefault(sitting["profile"], []).append(sitting)
    for profile in rebuilt & set(by_profile):
        target = results / "runs" / profile / sweep_clock.SITTINGS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(json.dumps(s) + "\n" for s in by_profile[profile]))


def _inside(folder: Path, paths) -> bool:
    """Whether any run folder lies inside ``folder`` (report.runs_root=results/runs)."""
    folder = folder.resolve()
    return any(folder in Path(p).resolve().parents for p in paths)
