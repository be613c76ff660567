"""The runs view of results/index.html: one row per run folder, sortable and filterable
with plain JS; a headless Chromium (installed by .ci/run where apt allows) loads it."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _report_helpers import build, write_run

import stn.report.html
from stn import registry

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
    listed = {(r[0], r[1], r[2], r[3]) for r in rows}  # profile, data, model label, seed
    assert listed == {(f.parts[-4], f.parts[-3], registry.model(f.parts[-2]).label,
                       f.name.split("=")[1]) for f in folders}


def test_a_row_links_its_records_and_its_run_folders_wandb(synthetic_runs: Path,
                                                          tmp_path: Path):
    with_wandb = synthetic_runs / "quick" / "r" / "cnn" / "seed=0"
    (with_wandb / "wandb" / "offline-run-x").mkdir(parents=True)
    results = tmp_path / "results"
    build(synthetic_runs, results)
    page = (results / "index.html").read_text()
    rows = re.findall(r"<tr[^>]*>(<td>.*?)</tr>", page)
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


# Injected into a copy of index.html before anything else runs: any uncaught error,
# rejected promise or console.error lands in <html data-errors="[...]">, so the dumped
# DOM shows it (Chromium's stderr logs every console level alike, as INFO).
ERROR_PROBE = """<script>
(function () {
  const errors = [];
  const report = (message) => {
    errors.push(String(message));
    document.documentElement.setAttribute("data-errors", JSON.stringify(errors));
  };
  window.addEventListener("error", (e) => report(e.message));
  window.addEventListener("unhandledrejection", (e) => report(e.reason));
  const consoleError = console.error;
  console.error = (...args) => { report(args.join(" ")); consoleError.apply(console, args); };
})();
</script>"""
# Appended after the page's own script: sets the filter to each query as typing does
# (an input event) and writes the rows left visible into <pre id="probe">.
FILTER_PROBE = """<script>
(function () {
  const filter = document.getElementById("runs-filter");
  const visible = {};
  for (const query of QUERIES) {
    filter.value = query;
    filter.dispatchEvent(new Event("input"));
    visible[query] = Array.from(document.querySelectorAll("#runs-table tbody tr"))
      .filter((row) => !row.hidden)
      .map((row) => Array.from(row.cells).slice(0, 4).map((c) => c.textContent));
  }
  filter.value = "";
  filter.dispatchEvent(new Event("input"));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(visible);
  document.body.appendChild(out);
})();
</script>"""


def open_in_chromium(results: Path, tmp_path: Path, after: str, fragment: str = ""):
    """Chromium's DOM of index.html (a copy with ERROR_PROBE first and ``after`` last)
    once loaded, its page errors (data-errors) and its console lines."""
    page = (results / "index.html").read_text()
    assert page.count("<head>") == 1 and page.count("</body>") == 1
    probe = results / "probe.html"  # beside index.html, so its relative links hold
    probe.write_text(page.replace("<head>", "<head>" + ERROR_PROBE)
                     .replace("</body>", after + "</body>"))
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
         probe.resolve().as_uri() + fragment],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout, done.stderr[-2000:]
    found = re.search(r'<html[^>]*\bdata-errors="([^"]*)"', done.stdout)
    errors = json.loads(html.unescape(found.group(1))) if found else []
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return done.stdout, errors, console


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (.ci/run installs Debian's)")
def test_a_headless_browser_loads_the_page_sorts_and_filters_the_runs(synthetic_runs: Path,
                                                                      tmp_path: Path):
    write_run(synthetic_runs, "quick", "rts", "st_cnn_aff", 0, "complete", 3.0)
    write_run(synthetic_runs, "quick", "rts", "st_cnn_aff", 1, "running")
    results = tmp_path / "results"
    build(synthetic_runs, results)
    placeholder = re.search(r'id="runs-filter"[^>]*placeholder="e\.g\. ([^"]+)"',
                            (results / "index.html").read_text()).group(1)
    assert placeholder == "rts st_cnn complete"
    queries = [placeholder, "  RTS\tST_CNN   Complete ", "ST-CNN aff rts", "smoke", "",
               "rts st_cnn nothing"]
    dom, errors, console = open_in_chromium(
        results, tmp_path, FILTER_PROBE.replace("QUERIES", json.dumps(queries)),
        "#runs:sort=error:desc")
    assert errors == [], errors
    assert not [line for line in console if re.search(r"error|uncaught", line, re.I)], console
    visible = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom).group(1)))
    rts_aff = [["quick", "rts", "ST-CNN Aff", "0"], ["quick", "rts", "ST-CNN Aff", "1"]]
    assert visible[placeholder] == visible[queries[1]] == rts_aff[:1]
    assert sorted(visible["ST-CNN aff rts"]) == rts_aff  # the label's words match too
    assert visible["smoke"] == [["smoke", "r", "FCN", "0"]]
    assert len(visible[""]) == len(runs_rows(dom)) == 11
    assert visible["rts st_cnn nothing"] == []
    rows = runs_rows(dom)
    errors = [float(r[5]) for r in rows if r[5]]
    assert len(errors) >= 3 and errors == sorted(errors, reverse=True)  # sorted by the page
    assert 'aria-sort="descending"' in dom


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (.ci/run installs Debian's)")
def test_the_browser_check_catches_a_throwing_runs_script(synthetic_runs: Path, tmp_path: Path,
                                                          monkeypatch):
    """The check above would fail: a runs script that throws (or logs console.error) is
    reported, though Chromium logs it at INFO level like any console line."""
    monkeypatch.setattr(stn.report.html, "RUNS_SCRIPT",
                        'console.error("logged");\n' + stn.report.html.RUNS_SCRIPT
                        .replace('getElementById("runs-filter")', 'getElementById("gone")'))
    results = tmp_path / "results"
    build(synthetic_runs, results)
    _, errors, _ = open_in_chromium(results, tmp_path, "")
    assert errors[0] == "logged" and len(errors) == 2, errors
    assert re.search(r"null|undefined", errors[1]), errors
