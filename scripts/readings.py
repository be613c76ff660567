"""Tabulate the readings runs (results/readings.{csv,md}; stn/report/readings.py).

    python scripts/readings.py                       # runs/readings -> results/
    python scripts/readings.py runs_root=/elsewhere  # another root of readings runs

The runs themselves come from the readings_<data> experiments, e.g.
    python scripts/train.py -m experiment=readings_p
"""

from __future__ import annotations

import shlex
import sys

from stn.errors import UserError
from stn.report.readings import write_readings

DEFAULTS = {"runs_root": "runs/readings", "results_dir": "results"}


def main(argv: list[str]) -> int:
    options = dict(DEFAULTS)
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in options:
            print(f"error: unknown option {arg!r}; options: "
                  + ", ".join(f"{k}=<path>" for k in options), file=sys.stderr)
            return 2
        options[key] = value
    command = shlex.join(["python", "scripts/readings.py", *argv])
    try:
        for path in write_readings(options["runs_root"], options["results_dir"], command):
            print(f"wrote {path}")
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
