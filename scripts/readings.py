"""Tabulate the readings runs (results/readings.{csv,md}; stn/report/readings.py).

    python scripts/readings.py                       # runs/readings -> results/
    python scripts/readings.py runs_root=/elsewhere  # another root of readings runs

The runs themselves come from the readings_<data> experiments, e.g.
    python scripts/train.py -m experiment=readings_p
"""

from __future__ import annotations

import sys

from stn.report.cli import tabulate_main
from stn.report.readings import write_readings

DEFAULTS = {"runs_root": "runs/readings", "results_dir": "results"}

if __name__ == "__main__":
    sys.exit(tabulate_main("scripts/readings.py", sys.argv[1:], DEFAULTS, write_readings))
