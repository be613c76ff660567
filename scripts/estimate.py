"""Say what a sweep will cost on this device before it starts (`make reproduce-mnist`
runs it first). Takes the sweep's own overrides:

    python scripts/estimate.py experiment=table1 schedule=paper trainer.n_seeds=3
    python scripts/estimate.py experiment=table1 schedule=quick hydra/launcher=joblib \\
        hydra.launcher.n_jobs=2 trainer.threads=1

Step times are measured now, on this device (stn/train/estimate.py); complete runs
cost nothing. Each other profile (configs/schedule/) is estimated as `make
reproduce-mnist PROFILE=<name>` would train the same cells from scratch: its seeds,
jobs, precision and iterations. Bad input is one line on stderr, exit 2.
"""

import sys

import yaml

from stn.config import CONFIG_DIR
from stn.errors import UserError
from stn.train.estimate import (
    Cell,
    Measured,
    all_runs,
    compose_sweep,
    describe,
    estimate,
    profile_cost,
    profile_sweep_argv,
    remaining_runs,
)
from stn.train.provenance import resolve_device


def main(argv: list[str]) -> int:
    try:
        configs, jobs = compose_sweep(argv)
        cells = [Cell(cfg, remaining_runs(cfg)) for cfg in configs]
    except Exception as error:  # a Hydra or OmegaConf error: one line
        print(f"error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    cfg = cells[0].cfg
    measured = Measured()  # shared by the profiles: each step and redraw is timed once
    try:
        device = resolve_device(cfg.trainer.device)
        rows = estimate(cells, device, measured=measured)  # sets each job's torch threads
        others = {}
        for path in sorted((CONFIG_DIR / "schedule").glob("*.yaml")):
            name = yaml.safe_load(path.read_text())["name"]
            if name == cfg.schedule.name:
                continue
            # The whole table of this sweep's cells as make would train it under `name`.
            configs, other_jobs = compose_sweep(profile_sweep_argv(argv, name))
            other = estimate([Cell(c, all_runs(c)) for c in configs], device,
                             measured=measured)
            others[name] = {"seconds": profile_cost(other, other_jobs),
                            "seeds": configs[0].trainer.n_seeds, "jobs": other_jobs,
                            "precision": "/".join(sorted({r["precision"] for r in other}))}
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    n_runs = sum(c.cfg.trainer.n_seeds for c in cells)
    n_left = sum(len(c.runs_left) for c in cells)
    print(describe(rows, n_runs, n_runs - n_left, jobs, device, cfg.schedule.name, others))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
