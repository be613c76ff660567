"""The registry (stn/registry.py) is the one list of models and datasets: the config
groups match it, and a newly registered model and dataset reach the sweep, the
report (table and figures), the bench, the parameter table and the estimate with
no other edit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from _report_helpers import write_run
from omegaconf import OmegaConf

from stn import registry
from stn.bench.run import selection
from stn.budget import parameter_table
from stn.config import CONFIG_DIR
from stn.data import schemas, warps
from stn.models import build_model
from stn.report import paper
from stn.report.build import write_report
from stn.train.estimate import compose_sweep
from stn.train.validate import validate

TOY_DATA = registry.DatasetSpec(
    "toy", "Toy", 28, schemas.RDistortion, warps.names_r, warps.draw_r, warps.render_r,
    paper_source="none",
    config={"train_seed": 9001, "test_seed": 9002, "distortion": {"angle": [-20.0, 20.0]}},
)
# No widths: the budget rule sizes it; no paper numbers: the report shows "–".
TOY_MODEL = registry.ModelSpec("toy_st_fcn", "Toy ST-FCN", "fcn", "aff", config={})


@pytest.fixture
def toy():
    registry.register_dataset(TOY_DATA)
    registry.register_model(TOY_MODEL)
    yield
    registry.unregister(TOY_DATA.name)
    registry.unregister(TOY_MODEL.name)


def test_each_config_group_holds_one_yaml_per_registered_spec():
    for group, names in (("model", registry.model_names()), ("data", registry.dataset_names())):
        files = sorted((CONFIG_DIR / group).glob("*.yaml"))
        assert [p.stem for p in files] == sorted(names), group
        for path in files:
            assert yaml.safe_load(path.read_text())["name"] == path.stem


def test_the_paper_rows_and_columns_come_first_and_stay_in_order(toy):
    assert registry.model_names()[:2] == ("fcn", "cnn")
    assert registry.model_names()[-1] == "toy_st_fcn"
    assert registry.dataset_names() == ("r", "rts", "p", "e", "tc", "toy")


def test_registering_another_spec_under_a_taken_name_is_an_error():
    with pytest.raises(Exception, match="'fcn' is already registered"):
        registry.register_model(registry.ModelSpec("fcn", "Other", "fcn", None))


def test_a_toy_model_and_dataset_reach_the_sweep_and_the_estimate(toy):
    configs, _ = compose_sweep(["experiment=table1", "trainer.n_seeds=1"])
    cells = {(c.data.name, c.model.name) for c in configs}
    assert len(configs) == len(cells) == 9 * 6
    assert {("toy", "toy_st_fcn"), ("toy", "fcn"), ("r", "toy_st_fcn")} <= cells
    toy_cell = next(c for c in configs if (c.data.name, c.model.name) == ("toy", "toy_st_fcn"))
    assert toy_cell.data.train_seed == 9001 and toy_cell.data.distortion.angle == [-20.0, 20.0]
    validate(toy_cell)  # the spec's rule width builds at 28 px
    # A command-line list still replaces the registry's.
    configs, _ = compose_sweep(["experiment=table1", "data=toy", "model=fcn,toy_st_fcn"])
    assert {(c.data.name, c.model.name) for c in configs} == {("toy", "fcn"),
                                                              ("toy", "toy_st_fcn")}


def test_a_toy_model_reaches_the_bench_and_the_parameter_table(toy):
    models, sizes = selection(OmegaConf.create({"models": None, "image_sizes": None}))
    assert models[-1] == "toy_st_fcn" and sizes == [28, 42, 60]
    row = next(r for r in parameter_table((28,)) if r["model"] == "toy_st_fcn")
    assert 0.9 <= row["ratio"] <= 1.1  # the budget rule sized it


def test_a_toy_model_and_dataset_reach_the_report_table_and_figures(toy, tmp_path: Path,
                                                                    mnist_dir):
    root, results = tmp_path / "runs", tmp_path / "results"
    data_cfg = {"name": "toy", "image_size": 28, "train_seed": 9001, "test_seed": 9002,
                "redraw_train": True, "validation": 0, "limit": 16,
                "distortion": {"angle": [-20.0, 20.0]}}
    for model in ("fcn", "toy_st_fcn"):
        folder = write_run(root, "smoke", "toy", model, 0, "complete", 5.0, data_cfg=data_cfg)
        torch.manual_seed(0)
        net = build_model(model, 28)
        if net.spatial_transformer is not None:  # off the identity, so the grid shows
            with torch.no_grad():
                bias = net.spatial_transformer.regression.bias
                bias.add_(0.05 * torch.randn_like(bias))
        torch.save({"model": net.state_dict(), "iteration": 10}, folder / "checkpoint.pt")
    written = write_report(root, results, tmp_path / "data", mnist_dir)
    table = pd.read_csv(results / "table1.csv").set_index("model")
    assert list(table.index) == list(paper.models())
    assert table.loc["toy_st_fcn", "label"] == "Toy ST-FCN"
    assert table.loc["toy_st_fcn", "Toy_mean"] == 5.0 and pd.isna(table.loc["fcn", "Toy_paper"])
    row = next(line for line in (results / "table1.md").read_text().splitlines()
               if line.startswith("| Toy ST-FCN |"))
    assert "5.00 (n=1)" in row and f"| {paper.NO_NUMBER} |" in row
    for kind in ("curves", "transforms", "undistortion"):
        assert results / "figures" / f"{kind}_toy.png" in written, kind
    assert re.search(r"<h3>Toy</h3>", (results / "index.html").read_text())


def test_the_makefile_sweeps_take_their_lists_from_the_experiment():
    makefile = (CONFIG_DIR.parent / "Makefile").read_text().replace("\\\n", " ")
    sweep = next(line for line in makefile.splitlines() if line.startswith("SWEEP_ARGS ="))
    assert "experiment=table1" in sweep
    assert not re.search(r"\b(model|data)=", sweep)
