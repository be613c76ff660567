"""Time a `make reproduce-mnist` sitting (the Makefile runs this around it), given the
sweep's own overrides:

    python scripts/sweep_clock.py start experiment=table1 schedule=fast trainer.n_seeds=1 ...
    python scripts/sweep_clock.py stop experiment=table1 schedule=fast trainer.n_seeds=1 ...

`stop` appends the sitting (start, end, wall time, the sweep's runs left before and
after, machine, commit) to <runs dir>/sweeps.jsonl; `make report` lists the sittings in
results/cost.md (stn/train/sweep_clock.py). Bad input is one line on stderr, exit 2.
"""

import sys

from stn.errors import UserError
from stn.train import sweep_clock

USAGE = "usage: sweep_clock.py start|stop <the sweep's overrides>"


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["start"]:
            sweep_clock.start(argv[1:])
        elif argv[:1] == ["stop"]:
            s = sweep_clock.stop(argv[1:])
            print(f"sitting of make reproduce-mnist PROFILE={s['profile']}: "
                  f"{s['wall_s'] / 60:.1f} min on {s['hardware']}; runs of the sweep left "
                  f"{s['left_at_start']} -> {s['left_at_end']} of {s['sweep_runs']}")
        else:
            raise UserError(USAGE)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a Hydra or OmegaConf error: one line
        print(f"error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
