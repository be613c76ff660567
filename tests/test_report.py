"""The results report: numbers from synthetic run folders, figures, HTML links."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from _report_helpers import build, write_run

from stn.errors import UserError
from stn.report import paper, table
from stn.report.build import write_report
from stn.report.runs import collect_runs

ROOT = Path(__file__).resolve().parent.parent


def test_a_rebuild_keeps_the_committed_records_of_other_profiles(tmp_path: Path):
    """Issue 15: a report built from runs/quick keeps results/runs/quick_fp32 (and its
    table and rows) as committed; only the rebuilt profile is replaced."""
    results = tmp_path / "results"
    both = tmp_path / "both"
    write_run(both, "quick", "r", "cnn", 0, "complete", 1.0)
    write_run(both, "quick_fp32", "r", "cnn", 0, "complete", 2.0)
    build(both, results)
    kept = results / "runs" / "quick_fp32" / "r" / "cnn" / "seed=0" / "final.json"
    record = kept.read_bytes()
    kept_table = (results / "table1_quick_fp32.md").read_text()

    only_quick = tmp_path / "only_quick"
    write_run(only_quick, "quick", "r", "cnn", 0, "complete", 3.0)
    build(only_quick / "quick", results)
    assert kept.read_bytes() == record
    # its table still names the runs root and command that made it, not this rebuild's
    assert (results / "table1_quick_fp32.md").read_text() == kept_table
    runs = pd.read_csv(results / "runs.csv").set_index("profile")
    assert runs.loc["quick", "test_error"] == 3.0 and runs.loc["quick_fp32", "test_error"] == 2.0
    assert (results / "table1_quick_fp32.md").exists()
    assert "quick_fp32" in (results / "index.html").read_text()
    # The records themselves as the runs root rebuild in place, never deleting a source.
    build(results / "runs", results)
    assert kept.read_bytes() == record
    # An explicit clean rebuild keeps only the profiles under the runs root.
    build(only_quick / "quick", results, clean=True)
    assert not kept.exists() and not (results / "table1_quick_fp32.md").exists()
    assert set(pd.read_csv(results / "runs.csv")["profile"]) == {"quick"}


def test_cost_sums_each_seeds_runs_and_splits_a_packs_time(tmp_path: Path):
    """results/cost.csv (and the README block): per profile and seed, complete runs only;
    a run of a K=2 pack counts half the pack's wall time."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    write_run(runs, "fast", "r", "fcn", 0, "complete", 1.0,
              final={"wall_time_s": 600.0, "hardware": "CPU A (1 threads)"})
    write_run(runs, "fast", "r", "cnn", 0, "complete", 1.0,
              final={"wall_time_s": 1200.0, "hardware": "CPU B (1 threads)"})
    for seed in (1, 2):  # one pack of seeds 1 and 2: each records the pack's 50 minutes
        write_run(runs, "fast", "r", "fcn", seed, "complete", 1.0,
                  final={"wall_time_s": 3000.0, "packed_runs": 2})
    write_run(runs, "fast", "r", "cnn", 1, "stopped")  # unfinished: costs nothing yet
    (tmp_path / "README.md").write_text("x\n<!-- cost:begin -->\n<!-- cost:end -->\ny\n")
    build(runs, results)

    cost = pd.read_csv(results / "cost.csv").set_index("seed")
    assert list(cost.index) == [0, 1, 2] and set(cost["profile"]) == {"fast"}
    assert cost.loc[0, "complete"] == 2 and cost.loc[0, "job_minutes"] == pytest.approx(30)
    assert cost.loc[0, "longest_minutes"] == pytest.approx(20)
    assert cost.loc[0, "hours_on_2_jobs"] == pytest.approx(20 / 60)  # the longest run bounds it
    assert cost.loc[0, "hardware"] == "CPU A (1 threads): 1; CPU B (1 threads): 1"
    assert cost.loc[1, "complete"] == 1 and cost.loc[1, "job_minutes"] == pytest.approx(25)
    runs_csv = pd.read_csv(results / "runs.csv")
    assert sorted(runs_csv["packed_runs"].dropna()) == [1, 1, 2, 2]
    readme = (tmp_path / "README.md").read_text()
    assert "| fast | 0 | 2 | 30 | 20.0 | 0.33 |" in readme and readme.endswith("y\n")


def test_table_numbers(synthetic_runs: Path, tmp_path: Path):
    results = tmp_path / "results"
    build(synthetic_runs, results)
    tab = pd.read_csv(results / "table1.csv").set_index("model")
    assert list(tab.index) == list(paper.models())
    assert set(tab["profile"]) == {"quick"}  # more iterations than smoke: the headline

    full = tab.loc["st_cnn_aff"]
    assert full["R_n"] == 3 and full["R_status"] == "complete"
    assert full["R_mean"] == pytest.approx(7 / 3)
    assert full["R_std"] == pytest.approx(math.sqrt(7 / 3))  # sample std, ddof=1
    assert full["R_paper"] == 0.7 and full["R_diff"] == pytest.approx(7 / 3 - 0.7)
    assert full["R_seeds"] == "0 1 2"

    partial = tab.loc["cnn"]
    assert (partial["R_n"], partial["R_n_unfinished"], partial["R_status"]) == (1, 1, "partial")
    assert partial["R_mean"] == 1.5 and math.isnan(partial["R_std"])

    failed = tab.loc["fcn"]
    assert (failed["RTS_n"], failed["RTS_n_failed"], failed["RTS_status"]) == (0, 2, "failed")
    assert math.isnan(failed["RTS_mean"]) and math.isnan(failed["RTS_diff"])
    assert (failed["P_status"], failed["P_n_unfinished"]) == ("unfinished", 1)
    assert failed["R_status"] == "missing"  # the smoke run belongs to another profile
    assert tab.loc["st_fcn_tps", "TC_paper"] == 2.0
    assert tab.loc["st_fcn_tps", "TC_paper_source"] == paper.SOURCE_TC_BACKBONE

    smoke = pd.read_csv(results / "table1_smoke.csv").set_index("model")
    assert smoke.loc["fcn", "R_mean"] == 50.0 and smoke["R_n"].sum() == 1

    markdown = (results / "table1.md").read_text()
    # runs whose config has no schedule.precision predate it: fp32
    assert "quick profile (cpu, fp32, 10 iterations) — not the paper protocol" in markdown
    assert "2.33 ± 1.53 (n=3)" in markdown
    assert "1.50 (n=1; 1 unfinished)" in markdown
    assert "failed (2)" in markdown and "missing (1 unfinished)" in markdown
    runs = pd.read_csv(results / "runs.csv")
    assert len(runs) == 9 and set(runs["state"]) == {"complete", "running", "failed", "stopped"}


def test_two_profiles_compared_cell_by_cell(synthetic_runs: Path, tmp_path: Path):
    bf16 = {"name": "quick_bf16", "iterations": 10, "precision": "bf16"}
    for seed, error in enumerate((2.0, 3.0)):
        write_run(synthetic_runs, "quick_bf16", "r", "st_cnn_aff", seed, "complete", error,
                  schedule=bf16)
    write_run(synthetic_runs, "quick_bf16", "tc", "cnn", 0, "complete", 9.0, schedule=bf16)
    results = tmp_path / "results"
    build(synthetic_runs, results, compare=["quick", "quick_bf16"], command="cmd")
    frame = pd.read_csv(results / "compare_quick_vs_quick_bf16.csv")
    cells = frame.set_index(["data", "model"])
    row = cells.loc[("r", "st_cnn_aff")]
    assert (row["baseline_n"], row["candidate_n"]) == (3, 2)
    assert row["delta"] == pytest.approx(2.5 - 7 / 3)
    # seeds 0 and 1 finished on both sides: (2 - 1 + 3 - 2) / 2, seed 2 left out
    assert str(row["shared_seeds"]) == "0 1" and row["delta_same_seeds"] == pytest.approx(1.0)
    assert math.isnan(cells.loc[("tc", "cnn"), "delta"])  # no quick run: never filled in
    assert math.isnan(cells.loc[("r", "cnn"), "candidate_mean"])
    markdown = (results / "compare_quick_vs_quick_bf16.md").read_text()
    assert "`quick_bf16`: bf16;" in markdown and "`quick`: fp32;" in markdown
    assert "Over 1 cells: mean delta +0.17" in markdown
    assert "over 1 cells, mean delta +1.00" in markdown
    assert "within 0.3 points in 0 of 1" in markdown
    with pytest.raises(UserError, match="no runs of profile 'nope'"):
        build(synthetic_runs, results, compare=["quick", "nope"])


def test_html_links_resolve(synthetic_runs: Path, tmp_path: Path):
    results = tmp_path / "results"
    (results / "figures").mkdir(parents=True)
    (results / "figures" / "datasets.png").write_bytes(b"\x89PNG")  # another script's figure
    build(synthetic_runs, results)
    page = (results / "index.html").read_text()
    assert 'src="figures/datasets.png"' in page
    assert "<table" in page and "2.33 ± 1.53 (n=3)" in page and "not the paper protocol" in page
    links = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert any("final.json" in link for link in links)
    for link in links:
        assert (results / link).exists(), link


def test_script_user_error(tmp_path: Path):
    done = subprocess.run(
        [
            sys.executable,
            "scripts/report.py",
            f"report.runs_root={tmp_path / 'none'}",
            f"paths.results_dir={tmp_path / 'results'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: no run folders below")
    assert len(done.stderr.strip().splitlines()) == 1


def test_pinned_profile_and_paper_numbers(synthetic_runs: Path, tmp_path: Path):
    build(synthetic_runs, tmp_path / "results", profile="smoke")
    assert set(pd.read_csv(tmp_path / "results" / "table1.csv")["profile"]) == {"smoke"}
    assert paper.paper_error("st_cnn_tps", "e") == (1.1, paper.SOURCE_TABLE)
    assert paper.paper_error("fcn", "tc") == (13.2, paper.SOURCE_TEXT)


def test_undistortion_signs_on_an_image():
    """The dataset's renderer distorts a digit by (+angle, scale, shift); the grid of
    forward_similarity with the same numbers restores it, the mirrored angle does not,
    and similarity_parts reads the numbers back: the conventions of geometry.py."""
    from stn.data import warps
    from stn.grids import affine_grid, bilinear_sample
    from stn.report.geometry import fit_affine, forward_similarity, similarity_parts

    digit = torch.zeros(1, 28, 28, dtype=torch.uint8)
    digit[0, 6:22, 12:16] = 255  # an asymmetric "7": a bar and a top stroke
    digit[0, 6:9, 8:20] = 255
    size, (angle, scale, tx, ty) = 42, (35.0, 0.8, 5.0, -3.0)
    distorted = warps.render_rts(
        digit, slice(0, 1), torch.tensor([[angle, scale, tx, ty]]), {}, size
    )
    upright = warps.render_rts(digit, slice(0, 1), torch.tensor([[0.0, 1.0, 0.0, 0.0]]), {}, size)

    def restore(theta):
        restored = bilinear_sample(distorted.float() / 255, affine_grid(theta, (size, size)))
        return (restored - upright.float() / 255).abs().mean().item()

    right = restore(forward_similarity(angle, scale, tx, ty, size))
    assert right < 0.3 * restore(forward_similarity(-angle, scale, tx, ty, size))
    assert right < 0.3 * (upright.float() / 255).mean().item()
    grid = affine_grid(forward_similarity(angle, scale, tx, ty, size), (size, size))
    parts = similarity_parts(fit_affine(grid), size)
    for key, value in {"angle": angle, "scale": scale, "tx": tx, "ty": ty}.items():
        assert parts[key].item() == pytest.approx(value, abs=1e-3)


@pytest.mark.skipif(
    not os.environ.get("MNIST_DIR"), reason="needs MNIST_DIR (the figures draw test digits)"
)
def test_figures_from_checkpoints(tmp_path: Path):
    """Every figure and params.csv from checkpoints in the trainer's format (tiny datasets)."""
    models = pytest.importorskip("stn.models")
    root, results = tmp_path / "runs", tmp_path / "results"
    for data in ("rts",):  # RTS records angle, scale and shift: every undistortion panel
        data_cfg = {
            **yaml.safe_load((ROOT / "configs" / "data" / f"{data}.yaml").read_text()),
            "limit": 16,
        }
        data_cfg.pop("defaults")  # the schema it extends (composed runs record none)
        for name in ("cnn", "st_fcn_aff", "st_cnn_proj", "st_cnn_tps"):
            folder = write_run(root, "smoke", data, name, 0, "complete", 5.0, data_cfg=data_cfg)
            torch.manual_seed(0)
            model = models.build_model(name, data_cfg["image_size"])
            if name.startswith("st_"):  # move off the identity so the grid shows something
                with torch.no_grad():
                    bias = model.spatial_transformer.regression.bias
                    bias.add_(0.05 * torch.randn_like(bias))
            torch.save({"model": model.state_dict(), "iteration": 10}, folder / "checkpoint.pt")
    written = write_report(root, results, tmp_path / "data", os.environ["MNIST_DIR"])
    for kind in ("transforms", "curves", "undistortion"):
        png = results / "figures" / f"{kind}_rts.png"
        assert png in written and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 5_000
    params = pd.read_csv(results / "params.csv")
    assert len(params) == len(paper.models()) * len(set(params["image_size"]))
    assert (params["params"] > 0).all() and (params.query("model == 'cnn'")["st_params"] == 0).all()
    page = (results / "index.html").read_text()
    for link in re.findall(r'(?:href|src)="([^"]+)"', page):
        assert (results / link).exists(), link
    assert 'src="figures/undistortion_rts.png"' in page


def test_paper_protocol_only_with_the_paper_schedule_and_all_digits(tmp_path: Path):
    paper_schedule = {"name": "paper", **paper.PAPER_SCHEDULE}
    write_run(tmp_path / "a", "paper", "r", "cnn", 0, "complete", 1.0, schedule=paper_schedule)
    assert table.describe_profile(collect_runs(tmp_path / "a"))["paper_protocol"]
    limited = {"name": "r", "image_size": 28, "limit": 256}
    write_run(
        tmp_path / "b", "paper", "r", "cnn", 0, "complete", 1.0, 150_000, limited, paper_schedule
    )
    info = table.describe_profile(collect_runs(tmp_path / "b"))
    assert not info["paper_protocol"]
    assert "— not the paper protocol" in table.profile_headline(info)


@pytest.mark.parametrize("change", ["bf16", "fixed"])
def test_a_bf16_or_fixed_copy_run_is_never_labelled_the_paper_protocol(tmp_path, change):
    schedule = {"name": "paper", **paper.PAPER_SCHEDULE,
                "precision": "bf16" if change == "bf16" else "fp32"}
    data_cfg = {"name": "r", "image_size": 28, "redraw_train": change != "fixed"}
    write_run(tmp_path, "paper", "r", "cnn", 0, "complete", 1.0, 150_000, data_cfg, schedule)
    info = table.describe_profile(collect_runs(tmp_path))
    headline = table.profile_headline(info)
    assert not info["paper_protocol"] and "— not the paper protocol" in headline
    reason = "not fp32" if change == "bf16" else "one fixed distorted training copy (ablation)"
    assert info["deviations"] == [reason] and reason in headline
    assert ("bf16" in headline) == (change == "bf16")  # the precision is always named


def test_the_paper_profile_trains_in_fp32_on_fresh_distortions():
    from stn.config import compose_train

    for data in ("r", "rts", "p", "e", "tc"):
        cfg = compose_train([f"data={data}"])  # schedule=paper is the default
        assert cfg.schedule.name == "paper" and cfg.schedule.precision == "fp32"
        assert cfg.data.redraw_train and cfg.data.validation == 0
    quick = compose_train(["schedule=quick"])
    assert quick.data.redraw_train  # every training profile draws fresh distortions


def test_readme_blocks_are_spliced_only_into_a_results_folders_readme(tmp_path):
    from stn.report.readme import splice_readme

    original = "# Project\n\n## Results\n<!-- t:begin -->\nold\n<!-- t:end -->\n"
    (tmp_path / "README.md").write_text(original)
    assert splice_readme(tmp_path / "results", "t", "# Table\n\n## Part\ntext")
    readme = (tmp_path / "README.md").read_text()
    assert "<!-- t:begin -->\n### Table\n\n#### Part\ntext\n<!-- t:end -->" in readme
    assert "old" not in readme and readme.startswith("# Project\n\n## Results\n")
    assert not splice_readme(tmp_path / "elsewhere", "t", "x")  # not a results/ folder


def test_the_readme_shows_each_profiles_table_where_it_has_a_block(tmp_path: Path):
    """The headline table lacks rows another profile has (a CPU paper protocol has no
    CNN rows): a README block table1_<profile> gets that profile's own table."""
    runs = tmp_path / "runs"
    write_run(runs, "quick", "r", "cnn", 0, "complete", 1.25)
    write_run(runs, "fast", "r", "cnn", 0, "complete", 4.75)
    blocks = "".join(f"<!-- {tag}:begin -->\nold\n<!-- {tag}:end -->\n"
                     for tag in ("table1", "table1_fast"))
    (tmp_path / "README.md").write_text(f"# Project\n{blocks}")
    build(runs, tmp_path / "results", profile="quick")
    readme = (tmp_path / "README.md").read_text()
    head, fast = readme.split("<!-- table1_fast:begin -->")
    assert "old" not in readme
    assert "profile `quick`" in head and "1.25" in head and "4.75" not in head
    assert "profile `fast`" in fast and "4.75" in fast


def test_the_report_command_reads_mnist_dir_and_paths_from_the_environment(monkeypatch):
    # The report regenerates a dataset for its figures when the cache is stale; it must
    # find MNIST where training does (paths group, env MNIST_DIR), not download it.
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "report_script", Path(__file__).resolve().parents[1] / "scripts" / "report.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # dataclasses look their module up
    spec.loader.exec_module(script)
    monkeypatch.setenv("MNIST_DIR", "/some/mnist")
    cfg = script.report_config(["paths.results_dir=/tmp/r"])
    assert cfg.paths.mnist_dir == "/some/mnist" and cfg.paths.results_dir == "/tmp/r"
    monkeypatch.delenv("MNIST_DIR")
    assert script.report_config([]).paths.mnist_dir is None
