"""Build the results report (tables, figures, index.html) from the run folders.

    python scripts/report.py                                   # every profile below runs/
    python scripts/report.py report.runs_root=runs/quick report.profile=quick
    python scripts/report.py paths.results_dir=/tmp/results report.figures=false
    python scripts/report.py "report.compare=[paper,fast]"    # two profiles, cell by cell
    python scripts/report.py report.runs_root=runs/quick report.clean=true   # drop the rest

Options are Hydra overrides of the same configs/paths group as training
(paths.results_dir, paths.data_dir, paths.mnist_dir) plus the report.* keys
below. This composes configs without @hydra.main, so no outputs/ folder is
created and the working directory stays the repo root.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.errors import HydraException
from omegaconf import OmegaConf

from stn.config import CONFIG_DIR, PathsConfig
from stn.errors import UserError


@dataclass
class ReportOptions:
    # Root scanned (at any depth) for run folders. Not paths.runs_dir: that one is
    # per schedule (runs/<schedule>), while the report reads every profile.
    runs_root: str = "${oc.env:STN_RUNS_DIR,runs}"
    profile: str | None = None  # headline profile for table1.{csv,md}; None: automatic
    figures: bool = True
    params: bool = True
    # Two profiles, baseline then candidate: results/compare_<a>_vs_<b>.{csv,md} cell by
    # cell, e.g. report.compare=[paper,fast] (the short schedule against the paper protocol).
    compare: list[str] = field(default_factory=list)
    # true: results/runs/ holds only the profiles under runs_root (the committed records
    # of every other profile are deleted); false keeps them and their tables.
    clean: bool = False
    # wandb: also log each rebuilt profile's Table 1, runs and figures to one wandb
    # "report" run (offline, under <runs_root>/wandb; wandb sync uploads it). none: off.
    logger: str = "wandb"
    project: str = "stn-mnist"


@dataclass
class ReportConfig:
    # _self_ first: the yaml paths group (MNIST_DIR, STN_RUNS_DIR) overrides the schema's
    # plain defaults, as in training.
    defaults: list = field(default_factory=lambda: ["_self_", {"paths": "default"}])
    paths: PathsConfig = field(default_factory=PathsConfig)
    report: ReportOptions = field(default_factory=ReportOptions)


def report_config(argv: list[str]):
    ConfigStore.instance().store(name="report_schema", node=ReportConfig)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose(config_name="report_schema", overrides=argv)


def main(argv: list[str]) -> int:
    try:
        cfg = report_config(argv)
        from stn.report.build import write_report

        written = write_report(
            cfg.report.runs_root,
            cfg.paths.results_dir,
            cfg.paths.data_dir,
            cfg.paths.mnist_dir,
            profile=cfg.report.profile,
            figures=cfg.report.figures,
            params=cfg.report.params,
            compare=list(cfg.report.compare),
            clean=cfg.report.clean,
            logger=cfg.report.logger,
            project=cfg.report.project,
            command=shlex.join(["python", "scripts/report.py", *argv]),
        )
    except (UserError, HydraException) as exc:  # bad input or a mistyped override
        print("error: " + "; ".join(str(exc).splitlines()), file=sys.stderr)
        return 2
    print(OmegaConf.to_yaml(cfg.report), end="")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
