"""Tabulate the schedule search of the fast profile (results/schedules.{csv,md};
stn/report/schedules.py).

    python scripts/schedules.py                       # runs/schedules -> results/
    python scripts/schedules.py runs_root=/elsewhere  # another root of trials

The trials come from the schedules experiment, e.g.
    python scripts/train.py -m experiment=schedules data=r model=fcn,cnn
"""

from __future__ import annotations

import sys

from stn.report.cli import tabulate_main
from stn.report.schedules import write_schedules

DEFAULTS = {"runs_root": "runs/schedules", "results_dir": "results"}

if __name__ == "__main__":
    sys.exit(tabulate_main("scripts/schedules.py", sys.argv[1:], DEFAULTS, write_schedules))
