"""Time a `make reproduce-mnist` sitting (the Makefile runs this around it):

    python scripts/sweep_clock.py start runs/fast fast 1 2 "<ARGS>"  # dir, profile, seeds, jobs
    python scripts/sweep_clock.py stop runs/fast

`stop` appends the sitting (start, end, wall time, runs complete before and after,
machine, commit) to <runs dir>/sweeps.jsonl; `make report` lists the sittings in
results/cost.md (stn/train/sweep_clock.py). Bad input is one line on stderr, exit 2.
"""

import sys

from stn.errors import UserError
from stn.train import sweep_clock

USAGE = "usage: sweep_clock.py start RUNS_DIR PROFILE SEEDS JOBS [ARGS] | stop RUNS_DIR"


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["start"] and len(argv) in (5, 6):
            sweep_clock.start(argv[1], argv[2], int(argv[3]), int(argv[4]), *argv[5:])
        elif argv[:1] == ["stop"] and len(argv) == 2:
            sitting = sweep_clock.stop(argv[1])
            print(f"sitting of make reproduce-mnist PROFILE={sitting['profile']}: "
                  f"{sitting['wall_s'] / 60:.1f} min on {sitting['hardware']}; complete runs "
                  f"{sitting['complete_at_start']} -> {sitting['complete_at_end']}")
        else:
            raise UserError(USAGE)
    except (UserError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
