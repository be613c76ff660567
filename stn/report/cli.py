"""The command line shared by the scripts that tabulate a root of validation runs
(scripts/readings.py, scripts/schedules.py): ``key=<path>`` options, one-line errors."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from stn.errors import UserError


def tabulate_main(script: str, argv: list[str], defaults: dict[str, str],
                  write: Callable[[str, str, str], list[Path]]) -> int:
    """Parse ``runs_root=`` / ``results_dir=`` options, call ``write(runs_root, results_dir,
    command)`` and print what it wrote; exit 2 with one line on stderr for bad input."""
    options = dict(defaults)
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in options:
            print(f"error: unknown option {arg!r}; options: "
                  + ", ".join(f"{k}=<path>" for k in options), file=sys.stderr)
            return 2
        options[key] = value
    command = shlex.join(["python", script, *argv])
    try:
        for path in write(options["runs_root"], options["results_dir"], command):
            print(f"wrote {path}")
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
