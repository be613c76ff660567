"""results/index.html: one self-contained page to browse the report.

Tables are inline; figures, CSVs and run folders are relative links, so the
page works from `make browse` (a static server at the repo root) and from a
file:// URL alike. Only files that exist are linked.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from stn.report import paper, table
from stn.train import run_folder

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 110em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warn { background: #fff3cd; padding: 0.5em; border-left: 4px solid #e0a800; }
.ok { background: #e7f5e9; padding: 0.5em; border-left: 4px solid #2e7d32; }
img { max-width: 100%; border: 1px solid #ddd; }
"""
RUN_FILES = run_folder.RECORD_FILES


def _link(target: Path, base: Path, text: str) -> str:
    href = Path(os.path.relpath(target, base)).as_posix()
    if target.is_dir():
        href += "/"
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def _profile_section(name: str, tab: pd.DataFrame, info: dict, results: Path) -> str:
    css = "ok" if info["paper_protocol"] else "warn"
    headline = html.escape(table.profile_headline(info).replace("**", ""))
    csv_path, md_path = results / f"table1_{name}.csv", results / f"table1_{name}.md"
    return "\n".join(
        [
            f'<h2 id="table-{html.escape(name)}">Table 1, profile {html.escape(name)}</h2>',
            f'<p class="{css}">{headline}</p>',
            f"<p>Hardware: {html.escape(', '.join(info['hardware']) or 'unknown')}. Files: "
            + ", ".join(_link(p, results, p.name) for p in (csv_path, md_path))
            + "</p>",
            table.display_table(tab).to_html(index=False, escape=True, na_rep=""),
        ]
    )


def _figure(path: Path, results: Path) -> str:
    src = html.escape(Path(os.path.relpath(path, results)).as_posix())
    return (
        f"<p>{_link(path, results, path.name)}<br>"
        f'<img src="{src}" alt="{html.escape(path.stem)}" loading="lazy"></p>'
    )


def _figures_section(results: Path, notes: dict[str, str]) -> str:
    """Per dataset its figures and notes, then any other PNG in figures/ (e.g. the
    dataset samples of scripts/plot_datasets.py), so every figure is linked."""
    parts = ['<h2 id="figures">Figures</h2>']
    pngs = sorted((results / "figures").glob("*.png"))
    for data in paper.datasets():
        found = [p for p in pngs if p.stem.endswith(f"_{data}")]
        if found or data in notes:
            parts.append(f"<h3>{paper.data_label(data)}</h3>")
        if data in notes:
            parts.append(f"<p>{html.escape(notes[data])}</p>")
        parts += [_figure(p, results) for p in found]
    others = [p for p in pngs if not any(p.stem.endswith(f"_{d}") for d in paper.datasets())]
    if others:
        parts.append("<h3>Other figures</h3>")
        parts += [_figure(p, results) for p in others]
    return "\n".join(parts)


def _runs_section(runs: pd.DataFrame, results: Path) -> str:
    rows = []
    for run in runs.itertuples(index=False):
        folder = Path(run.path)
        links = [_link(folder, results, "folder")]
        links += [_link(folder / f, results, f) for f in RUN_FILES if (folder / f).exists()]
        error = "" if pd.isna(run.test_error) else f"{run.test_error:.2f}"
        cells = [
            run.profile,
            run.data,
            paper.model_label(run.model),
            run.seed,
            run.state,
            error,
        ]
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            + f"<td>{' '.join(links)}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("profile", "data", "model", "seed", "state", "test error %", "files")
    )
    return "\n".join(['<h2 id="runs">Runs</h2>', f"<table><tr>{head}</tr>", *rows, "</table>"])


def write_index(
    results: Path,
    runs: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    infos: dict[str, dict],
    head: str,
    figure_notes: dict[str, str],
    notes: list[str],
) -> Path:
    order = [head, *sorted(p for p in tables if p != head)]
    files = [
        results / n for n in ("README.md", "table1.csv", "table1.md", "params.csv", "runs.csv")
    ]
    body = [
        "<h1>Spatial Transformer Networks on distorted MNIST: results</h1>",
        f"<p>Headline profile: <b>{html.escape(head)}</b>. "
        + " ".join(_link(f, results, f.name) for f in files if f.exists())
        + "</p>",
        *[_profile_section(name, tables[name], infos[name], results) for name in order],
        "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>",
        _figures_section(results, figure_notes),
        _runs_section(runs, results),
    ]
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>STN results</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    path = results / "index.html"
    path.write_text(page)
    return path
