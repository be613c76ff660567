"""bench.json (every figure, with its provenance) and bench.md (the same as tables)."""

from __future__ import annotations

import json
from pathlib import Path

from stn.report.readme import splice_readme


def write_outputs(result: dict, out_dir: str) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "bench.json", out / "bench.md"
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    md_path.write_text(text)
    splice_readme(out, "bench", text.split("\n", 1)[1])  # README's Performance section
    return json_path, md_path


def markdown(r: dict) -> str:
    env, setup = r["environment"], r["setup"]
    lines = [
        "# Throughput benchmark",
        "",
        f"Command: `{env['command']}`  ",
        f"Device: {env['device']}, {env['hardware']}; machine with {env['cpu_count']} CPU cores  ",
        f"Commit {env['git_commit']}, {env['date']}; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + "  ",
        f"Load average before / after: {env['load_before']} / {env['load_after']}",
        "",
        *[f"- {note}" for note in r["notes"]],
        "",
        f"## Training step, batch {setup['batch_size']}",
        "",
        "Medians over blocks; in brackets the best block (least disturbed by other load).",
        "",
        "| model | size | trainer precision | trainer img/s | reference img/s "
        "| trainer / reference | fp32 trainer / reference "
        f"| packed K={setup['packed_runs']} img/s per run | packed / trainer "
        "| step memory MiB trainer / reference |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["throughput"]:
        trainer, reference = row["trainer"], row["reference"]
        packed, gain, fp32 = "-", "-", "-"
        if "packed" in row:
            packed = _rate(row["packed"])
            gain = f"{row['packed_over_trainer']:.2f}x"
        if "trainer_fp32" in row:
            fp32 = f"{row['trainer_fp32_over_reference']:.2f}x"
        lines.append(
            f"| {row['model']} | {row['image_size']} | {row['precision']} | {_rate(trainer)} "
            f"| {_rate(reference)} "
            f"| {row['trainer_over_reference']:.2f}x ({row['trainer_over_reference_best']:.2f}x) "
            f"| {fp32} | {packed} | {gain} "
            f"| {_mib(trainer)} / {_mib(reference)} |"
        )
    if r["st_overhead"]:
        lines += [
            "",
            "## ST overhead: step time of each ST-CNN over the CNN (paper: 6% on SVHN)",
            "",
            "| model | size | trainer | reference |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {o['model']} | {o['image_size']} | {o['trainer_pct']:+.0f}% "
            f"| {o['reference_pct']:+.0f}% |"
            for o in r["st_overhead"]
        ]
    if r.get("first_conv"):
        lines += [
            "",
            "## First-convolution input gradient (the ST-CNN's classifier input)",
            "",
            "| size | input | channels | dtype | convolution_backward ms | stn.conv ms | speedup "
            "| max diff / max |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['image_size']} | {'x'.join(map(str, c['input']))} | {c['channels']} "
            f"| {c['dtype']} | {c['reference_ms']:.1f} | {c['ours_ms']:.1f} "
            f"| {c['speedup']:.1f}x | {c['max_diff_over_max']:.1e} |"
            for c in r["first_conv"]
        ]
    if r.get("pooling"):
        lines += [
            "",
            "## 2x average pooling of one-channel images (fp32)",
            "",
            "Forward: what the ST-CNN localisation net's input needs (every size); forward + "
            "input gradient: what the ST output needs at 42 and 60 px.",
            "",
            "| size | input | forward: avg_pool2d ms | stn.pooling ms | speedup "
            "| forward + input gradient: avg_pool2d ms | stn.pooling ms | speedup "
            "| max diff / max |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {p['image_size']} | {'x'.join(map(str, p['input']))} "
            f"| {p['reference_forward_ms']:.2f} | {p['ours_forward_ms']:.2f} "
            f"| {p['forward_speedup']:.1f}x | {p['reference_ms']:.2f} | {p['ours_ms']:.2f} "
            f"| {p['speedup']:.1f}x | {p['max_diff_over_max']:.1e} |"
            for p in r["pooling"]
        ]
    g = r["datagen"]
    lines += [
        "",
        f"## Dataset generation ({g['digits_source']}; batched on {g['device']})",
        "",
        "| dataset | size | digits | batched s | per-sample loop s (extrapolated) | speedup |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {d['dataset']} | {d['image_size']} | {d['digits']} | {d['batched_s']:.2f} "
        f"| {d['loop_extrapolated_s']:.1f} (from {d['loop_samples']}) | {d['speedup']:.1f}x |"
        for d in g["datasets"]
    ]
    t = g["total"]
    lines.append(
        f"| **all** | | | **{t['batched_s']:.2f}** | **{t['loop_extrapolated_s']:.1f}** "
        f"| **{t['speedup']:.1f}x** |"
    )
    overhead = r.get("redraw_overhead") or []
    if overhead:
        models = list(dict.fromkeys(o["model"] for o in overhead))
        lines += [
            "",
            "## Fresh distortions: the redraw of the training split at every epoch",
            "",
            "Redraw seconds per epoch (batched, as above) and, per model, that time over the "
            "epoch's training steps at the trainer's img/s of this run.",
            "",
            "| dataset | redraw s / epoch | " + " | ".join(models) + " |",
            "|---|---|" + "---|" * len(models),
        ]
        for dataset in dict.fromkeys(o["dataset"] for o in overhead):
            rows = {o["model"]: o for o in overhead if o["dataset"] == dataset}
            first = next(iter(rows.values()))
            cells = [f"+{rows[m]['overhead_pct']:.1f}%" if m in rows else "-" for m in models]
            lines.append(f"| {dataset} | {first['redraw_epoch_s']:.2f} | " + " | ".join(cells)
                         + " |")
    panels = r.get("panels")
    if panels:
        q = panels["schedule"]
        lines += [
            "",
            "## Transformation panels: the wandb image an ST run logs at each evaluation",
            "",
            f"Per 28 px ST model, drawn from {panels['digits_source']} and logged to a real "
            "offline wandb run: the first panel of a run (it builds the figure) and the "
            f"median of the next ones. A {q['name']} run ({q['iterations']} iterations, "
            f"evaluated every {q['eval_every']}) draws {q['evaluations']}; they are set "
            f"against its {q['iterations']} training steps at batch {q['batch_size']} "
            "(the trainer's step time above). The first panel of a fresh process (one that "
            "has imported torch, wandb and the trainer, as every wandb-logging run has) took "
            f"{panels['process_first_panel_ms']:.0f} ms, "
            f"{panels['process_setup_ms']:.0f} ms more than a run's first panel here: the "
            "import of the figure code (matplotlib) and its first render, paid once per "
            "process. \"In a sweep worker\": a run after the first of a worker of the quick "
            "profile's sweep (Hydra's joblib launcher), which has paid it already; \"in a "
            "fresh process\": a run started on its own (`python scripts/train.py ...`). The "
            "step is timed at the schedule's precision where this bench timed one, else "
            "(marked !) at the trainer's.",
            "",
            "| model | dataset | first panel ms | panel ms | step ms (precision, batch) "
            "| run's panels s | run's steps s | panels / steps: in a sweep worker "
            "| in a fresh process |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {o['model']} | {o['dataset']} | {o['first_ms']:.0f} | {o['panel_ms']:.0f} "
            f"| {o['trainer_step_ms']:.1f} ({o['step_precision']}"
            f"{'' if o['step_precision'] == o['schedule_precision'] else ' !'}, "
            f"{o['bench_batch_size']}) "
            f"| {o['run_panels_s']:.2f} | {o['run_steps_s']:.0f} | {o['pct_of_steps']:.2f}% "
            f"| {o['pct_of_steps_fresh_process']:.2f}% |"
            for o in panels["models"]
        ]
    return "\n".join(lines) + "\n"


def _mib(loop: dict) -> str:
    value = loop["step_memory_mib"]
    return "n/a" if value is None else f"{value:.0f}"


def _rate(loop: dict) -> str:
    return f"{loop['images_per_s']:.0f} ({loop['images_per_s_best']:.0f})"
