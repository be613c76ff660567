"""Say what a sweep will cost on this device before it starts (`make reproduce-mnist`
runs it first). Takes the sweep's own overrides:

    python scripts/estimate.py experiment=table1 schedule=paper trainer.n_seeds=3
    python scripts/estimate.py experiment=table1 schedule=quick hydra/launcher=joblib \\
        hydra.launcher.n_jobs=2 trainer.threads=1

Step times are measured now, on this device (stn/train/estimate.py); complete runs
cost nothing. Bad input is one line on stderr, exit 2.
"""

import sys

import torch
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from stn.config import CONFIG_DIR, register_schemas
from stn.errors import UserError
from stn.train.estimate import Cell, describe, estimate, remaining_runs, sweep_overrides
from stn.train.provenance import resolve_device


def main(argv: list[str]) -> int:
    register_schemas()
    try:
        parsed = OverridesParser.create().parse_overrides(argv)
        first = [p.input_line if not p.is_sweep_override()
                 else f"{p.key_or_group}={next(iter(p.sweep_string_iterator()))}"
                 for p in parsed]
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            base = compose("train", overrides=first, return_hydra_config=True)
            params = base.hydra.sweeper.params
            params = {} if params is None else OmegaConf.to_container(params)
            jobs = int(base.hydra.launcher.get("n_jobs") or 1)
            cells = []
            for overrides in sweep_overrides(argv, params):
                cfg = compose("train", overrides=overrides)
                cells.append(Cell(cfg, remaining_runs(cfg)))
    except Exception as error:  # a Hydra or OmegaConf error: one line
        print(f"error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    cfg = cells[0].cfg
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    try:
        device = resolve_device(cfg.trainer.device)
        rows = estimate(cells, device)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    n_runs = sum(c.cfg.trainer.n_seeds for c in cells)
    n_left = sum(len(c.runs_left) for c in cells)
    others = {}
    for path in sorted((CONFIG_DIR / "schedule").glob("*.yaml")):
        schedule = yaml.safe_load(path.read_text())
        if schedule["name"] != cfg.schedule.name:
            others[schedule["name"]] = int(schedule["iterations"])
    print(describe(rows, n_runs, n_runs - n_left, jobs, device, cfg.schedule.name,
                   cfg.schedule.iterations, others))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
