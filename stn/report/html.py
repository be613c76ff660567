"""results/index.html: one self-contained page to browse the report.

Tables are inline; figures, CSVs and runs are relative links, so the page works
from `make browse` (a static server at the repo root) and from a file:// URL
alike. A run row links its archived records (results/runs/<profile>/...) and,
while its run folder still holds one, that folder's wandb/ (e.g.
../runs/paper/r/cnn/seed=0/wandb/). Only files that exist are linked.
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
#runs-table th { cursor: pointer; }
#runs-table th[aria-sort=ascending]::after { content: " \\25B2"; }
#runs-table th[aria-sort=descending]::after { content: " \\25BC"; }
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


# The runs view: click a header to sort, type to filter (plain JS, no network). The page
# also opens sorted from its address: index.html#runs:sort=<column>[:desc].
RUNS_SCRIPT = """
(function () {
  const table = document.getElementById("runs-table");
  if (!table) return;
  const body = table.tBodies[0];
  const heads = Array.from(table.tHead.rows[0].cells);
  function sortBy(col, dir) {
    const numeric = heads[col].dataset.type === "num";
    const key = (row) => {
      const cell = row.cells[col];
      const v = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
      return numeric ? (v === "" ? Infinity : Number(v)) : v.toLowerCase();
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      return (x > y) - (x < y);
    });
    if (dir === "desc") rows.reverse();
    rows.forEach((row) => body.appendChild(row));
    heads.forEach((h) => h.removeAttribute("aria-sort"));
    heads[col].setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
  }
  heads.forEach((th, col) => th.addEventListener("click", () =>
    sortBy(col, th.getAttribute("aria-sort") === "ascending" ? "desc" : "asc")));
  // A row shows when every word of the filter occurs in its cells' texts (joined by
  // spaces) or its keys (data-keys: data and model keys, state); case-insensitive.
  const searchable = (row) => (Array.from(row.cells).map((c) => c.textContent).join(" ")
    + " " + (row.dataset.keys || "")).toLowerCase();
  const filter = document.getElementById("runs-filter");
  filter.addEventListener("input", () => {
    const terms = filter.value.toLowerCase().split(/\\s+/).filter((t) => t);
    Array.from(body.rows).forEach((row) => {
      const text = searchable(row);
      row.hidden = !terms.every((t) => text.includes(t));
    });
  });
  const wanted = location.hash.match(/^#runs:sort=([a-z_]+)(:desc)?$/);
  if (wanted) {
    const col = heads.findIndex((h) => h.dataset.key === wanted[1]);
    if (col >= 0) sortBy(col, wanted[2] ? "desc" : "asc");
  }
})();
"""
RUN_VIEW_COLUMNS = (  # (key, header, numeric)
    ("profile", "profile", False), ("data", "data", False), ("model", "model", False),
    ("seed", "seed", True), ("state", "state", False), ("error", "final error %", True),
    ("wall", "wall time", True), ("files", "records", False),
)


def _wall(seconds) -> str:
    if pd.isna(seconds):
        return ""
    minutes = round(float(seconds) / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"


def _runs_section(runs: pd.DataFrame, results: Path) -> str:
    """One row per run, sortable and filterable in the browser. ``path`` is the run's
    archived records (results/runs/...), ``run_path`` the run folder it came from:
    the row links the records and, when the run folder has one, its wandb/ folder."""
    rows = []
    for run in runs.itertuples(index=False):
        folder, wandb = Path(run.path), Path(run.run_path) / "wandb"
        links = [_link(folder, results, "folder")]
        links += [_link(folder / f, results, f) for f in RUN_FILES if (folder / f).exists()]
        if wandb.is_dir():
            links.append(_link(wandb, results, "wandb"))
        error = "" if pd.isna(run.test_error) else f"{run.test_error:.2f}"
        wall = "" if pd.isna(run.wall_time_s) else f"{float(run.wall_time_s):.0f}"
        cells = [
            f"<td>{html.escape(str(run.profile))}</td>",
            f"<td>{html.escape(str(run.data))}</td>",
            f"<td>{html.escape(paper.model_label(run.model))}</td>",
            f"<td>{run.seed}</td>",
            f"<td>{html.escape(str(run.state))}</td>",
            f"<td>{error}</td>",
            f'<td data-value="{wall}">{_wall(run.wall_time_s)}</td>',
            f"<td>{' '.join(links)}</td>",
        ]
        keys = html.escape(f"{run.data} {run.model} {run.state}")
        rows.append(f'<tr data-keys="{keys}">' + "".join(cells) + "</tr>")
    num = ' data-type="num"'
    head = "".join(f'<th data-key="{key}"{num if numeric else ""}>{label}</th>'
                   for key, label, numeric in RUN_VIEW_COLUMNS)
    return "\n".join([
        '<h2 id="runs">Runs</h2>',
        f"<p>{len(runs)} runs. Click a header to sort; type words to filter "
        "(a row shows when it holds every word; data and model keys count): "
        '<input id="runs-filter" type="search" placeholder="e.g. rts st_cnn complete"></p>',
        f'<table id="runs-table"><thead><tr>{head}</tr></thead><tbody>',
        *rows, "</tbody></table>", f"<script>{RUNS_SCRIPT}</script>",
    ])


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
