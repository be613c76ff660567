"""What each profile's finished runs cost, per seed, from the run records (runs.csv).

A pack of K seeds trains in one process (trainer.n_seeds) and each of its runs records
the pack's wall time (final.json: wall_time_s, packed_runs K), so a run's share is
wall_time_s / K. The sum of the shares of one seed's runs is what a sweep of that seed
costs in job-minutes; spread over N one-thread jobs (one per core), it takes at least
that sum / N, and at least its longest run. The records name their hardware and threads:
machines differ (the same cell has taken twice as long on one 2-core VM as on another),
so the table lists them beside the sums.

Beside the sums, the sittings of `make reproduce-mnist` timed as a whole by its own
clock (stn.train.sweep_clock): what a user waits for, data and start-up included.
"""

from __future__ import annotations

import pandas as pd

JOBS = 2  # one-thread jobs side by side: make reproduce-mnist JOBS=2 on a 2-core CPU
HOURS = f"hours_on_{JOBS}_jobs"
COST_COLUMNS = ["profile", "seed", "complete", "job_minutes", "longest_minutes", HOURS,
                "hardware"]


def cost_table(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (profile, seed) with at least one complete run that recorded its time."""
    done = records[(records["state"] == "complete") & records["wall_time_s"].notna()].copy()
    if done.empty:
        return pd.DataFrame(columns=COST_COLUMNS)
    packed = pd.to_numeric(done["packed_runs"], errors="coerce").fillna(1)
    done["share_s"] = done["wall_time_s"].astype(float) / packed
    rows = []
    for (profile, seed), group in done.groupby(["profile", "seed"], sort=True):
        total, longest = group["share_s"].sum(), group["share_s"].max()
        machines = group["hardware"].fillna("unknown").value_counts()
        machines = sorted(machines.items(), key=lambda item: (-item[1], item[0]))  # most runs first
        rows.append({
            "profile": profile, "seed": int(seed), "complete": len(group),
            "job_minutes": total / 60, "longest_minutes": longest / 60,
            HOURS: max(total / JOBS, longest) / 3600,
            "hardware": "; ".join(f"{name}: {count}" for name, count in machines),
        })
    return pd.DataFrame(rows, columns=COST_COLUMNS)


SITTING_COLUMNS = ["profile", "started", "finished", "hours", "runs_trained", "complete_at_start",
                   "complete_at_end", "seeds", "jobs", "args", "hardware", "git_commit"]


def sittings_table(sittings: list[dict]) -> pd.DataFrame:
    """One row per finished sitting, in the order they started."""
    rows = [{**s, "hours": s["wall_s"] / 3600,
             "runs_trained": s["complete_at_end"] - s["complete_at_start"]} for s in sittings]
    frame = pd.DataFrame(rows, columns=SITTING_COLUMNS)
    return frame.sort_values(["started", "profile"], ignore_index=True)


def sittings_markdown(sittings: pd.DataFrame) -> list[str]:
    if sittings.empty:
        return []
    lines = [
        "",
        "## Timed sittings of `make reproduce-mnist`",
        "",
        "Wall time of the whole command (data, estimate and sweep; the report after it is "
        "not counted), by its own clock (`scripts/sweep_clock.py`, records in "
        "`runs/<profile>/sweeps.jsonl`). Runs trained = runs complete at the end minus at "
        "the start: a sitting that began with runs already complete (or stopped runs "
        "resumed) is not the cost of the whole table.",
        "",
        "| profile | seeds | jobs | started (UTC) | hours | runs trained | complete before "
        "/ after | machine | extra arguments | commit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['profile']} | {r['seeds']} | {r['jobs']} | {r['started']} | {r['hours']:.2f} "
        f"| {r['runs_trained']} | {r['complete_at_start']} / {r['complete_at_end']} "
        f"| {r['hardware']} | {('`' + r['args'] + '`') if r['args'] else '-'} "
        f"| {r['git_commit'][:12]}{'-dirty' if r['git_commit'].endswith('-dirty') else ''} |"
        for r in sittings.to_dict("records")
    ]
    return lines


def cost_markdown(cost: pd.DataFrame, command: str,
                  sittings: pd.DataFrame | None = None) -> str:
    lines = [
        "# What the finished runs cost, per profile and seed",
        "",
        f"- Command: `{command}` (from the run records, as in `runs.csv`)",
        "- job minutes: the sum of the runs' wall times (`wall_time_s`; a run trained in a "
        f"pack of K seeds counts the pack's time / K). On {JOBS} jobs: the least a sweep of "
        f"that seed takes as {JOBS} one-thread jobs, max(job minutes / {JOBS}, longest run), "
        "at the speed these runs had; hardware: the machines (and torch threads) the runs "
        "recorded, with their run counts.",
        "",
        "| profile | seed | complete runs | job minutes | longest run (min) "
        f"| on {JOBS} jobs, at least (h) | hardware (runs) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['profile']} | {row['seed']} | {row['complete']} | {row['job_minutes']:.0f} "
        f"| {row['longest_minutes']:.1f} | {row[HOURS]:.2f} | {row['hardware']} |"
        for row in cost.to_dict("records")
    ]
    if sittings is not None:
        lines += sittings_markdown(sittings)
    return "\n".join(lines) + "\n"
