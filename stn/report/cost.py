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


SITTING_COLUMNS = ["profile", "seeds", "jobs", "started", "finished", "hours", "runs_trained",
                   "sweep_runs", "left_at_start", "left_at_end", "overrides", "hardware",
                   "git_commit"]
SWEEP_COLUMNS = ["profile", "seeds", "jobs", "sittings", "hours", "runs", "started", "finished",
                 "hardware"]


def sittings_table(sittings: list[dict]) -> pd.DataFrame:
    """One row per finished sitting, in the order they started."""
    rows = [{**s, "hours": s["wall_s"] / 3600,
             "runs_trained": s["left_at_start"] - s["left_at_end"]} for s in sittings]
    frame = pd.DataFrame(rows, columns=SITTING_COLUMNS)
    return frame.sort_values(["started", "profile"], ignore_index=True)


def whole_sweeps(sittings: pd.DataFrame) -> pd.DataFrame:
    """The sweeps timed from nothing to done: a sitting that began with all of its sweep's
    runs left, and the sittings of the same sweep that carried it on (each beginning with
    the runs the one before left; their trainer.max_minutes may differ) up to the one that
    left none. Their hours add up; a sitting that never stopped breaks the chain."""
    rows = []
    for _, same in sittings.groupby(["profile", "seeds", "jobs", "sweep_runs"], sort=False):
        chain: list[dict] = []
        for sitting in same.sort_values("started").to_dict("records"):
            fresh = sitting["left_at_start"] == sitting["sweep_runs"]
            if fresh or not chain or sitting["left_at_start"] != chain[-1]["left_at_end"]:
                chain = [sitting] if fresh else []
            else:
                chain.append(sitting)
            if chain and sitting["left_at_end"] == 0:
                rows.append({
                    "profile": sitting["profile"], "seeds": sitting["seeds"],
                    "jobs": sitting["jobs"], "sittings": len(chain),
                    "hours": sum(s["hours"] for s in chain), "runs": sitting["sweep_runs"],
                    "started": chain[0]["started"], "finished": sitting["finished"],
                    "hardware": "; ".join(dict.fromkeys(s["hardware"] for s in chain)),
                })
                chain = []
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def _commit(commit: str) -> str:
    return commit.removesuffix("-dirty")[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def sittings_markdown(sittings: pd.DataFrame) -> list[str]:
    if sittings.empty:
        return []
    lines = [
        "",
        "## Timed sittings of `make reproduce-mnist`",
        "",
        "Wall time of the whole command (data, estimate and sweep; not the report after "
        "it), by its own clock (`scripts/sweep_clock.py`; records in "
        "`runs/<profile>/sweeps.jsonl`). Runs trained: the sweep's runs left at the start "
        "minus at the end; a sweep longer than a sitting stops cleanly "
        "(`ARGS=trainer.max_minutes=<N>`) and the same command carries it on.",
        "",
        "| profile | seeds | jobs | started (UTC) | hours | runs trained | left before / "
        "after, of the sweep's | machine | overrides | commit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['profile']} | {r['seeds']} | {r['jobs']} | {r['started']} | {r['hours']:.2f} "
        f"| {r['runs_trained']} | {r['left_at_start']} / {r['left_at_end']}, of "
        f"{r['sweep_runs']} | {r['hardware']} | `{r['overrides']}` | {_commit(r['git_commit'])} |"
        for r in sittings.to_dict("records")
    ]
    sweeps = whole_sweeps(sittings)
    if sweeps.empty:
        return lines
    lines += [
        "",
        "Whole sweeps, from none of their runs complete to all (the sittings added up):",
        "",
        "| profile | seeds | jobs | runs | sittings | hours | started (UTC) | finished (UTC) "
        "| machine |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['profile']} | {r['seeds']} | {r['jobs']} | {r['runs']} | {r['sittings']} "
        f"| {r['hours']:.2f} | {r['started']} | {r['finished']} | {r['hardware']} |"
        for r in sweeps.to_dict("records")
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
