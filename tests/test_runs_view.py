"""The runs view of results/index.html: one row per run folder, sortable and filterable
with plain JS; a headless Chromium (installed by .ci/run where apt allows) loads it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _report_helpers import build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class RunsTable(HTMLParser):
    """The cell texts of #runs-table's body rows."""

    def __init__(self):
        super().__init__()
        self.inside, self.rows, self.cell = False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "runs-table") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def runs_rows(page: str) -> list[list[str]]:
    parser = RunsTable()
    parser.feed(page)
    return [row for row in parser.rows if row]  # the header row has no td


def test_the_runs_view_lists_every_run_folder(synthetic_runs: Path, tmp_path: Path):
    results = tmp_path / "results"
    build(synthetic_runs, results)
    rows = runs_rows((results / "index.html").read_text())
    folders = sorted(p.parent for p in synthetic_runs.glob("**/config.yaml"))
    assert len(rows) == len(folders) > 3
    listed = {(r[0], r[1], r[3]) for r in rows}  # profile, data, seed
    assert listed == {(f.parts[-4], f.parts[-3], f.name.split("=")[1]) for f in folders}


def test_a_row_links_its_records_and_its_run_folders_wandb(synthetic_runs: Path,
                                                          tmp_path: Path):
    with_wandb = synthetic_runs / "quick" / "r" / "cnn" / "seed=0"
    (with_wandb / "wandb" / "offline-run-x").mkdir(parents=True)
    results = tmp_path / "results"
    build(synthetic_runs, results)
    page = (results / "index.html").read_text()
    rows = re.findall(r"<tr>(<td>.*?)</tr>", page)
    assert len(rows) == len(list(synthetic_runs.glob("**/config.yaml")))
    wandb_links = {}
    for row in rows:
        hrefs = re.findall(r'href="([^"]+)"', row)
        folder = next(h for h in hrefs if h.startswith("runs/"))  # the archived records
        assert (results / folder / "config.yaml").is_file(), folder
        wandb_links[folder] = [h for h in hrefs if h.rstrip("/").endswith("wandb")]
    expected = Path(os.path.relpath(with_wandb / "wandb", results)).as_posix() + "/"
    assert expected == "../runs/quick/r/cnn/seed=0/wandb/"
    assert wandb_links.pop("runs/quick/r/cnn/seed=0/") == [expected]
    assert (results / expected / "offline-run-x").is_dir()
    assert not any(wandb_links.values()), wandb_links  # no wandb/ folder: no link


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (.ci/run installs Debian's)")
def test_a_headless_browser_loads_the_page_and_sorts_the_runs(synthetic_runs: Path,
                                                              tmp_path: Path):
    results = tmp_path / "results"
    build(synthetic_runs, results)
    url = (results / "index.html").resolve().as_uri() + "#runs:sort=error:desc"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if re.search(r"error|uncaught", line, re.I)], console
    rows = runs_rows(done.stdout)
    errors = [float(r[5]) for r in rows if r[5]]
    assert len(errors) >= 3 and errors == sorted(errors, reverse=True)  # sorted by the page
    assert 'aria-sort="descending"' in done.stdout
