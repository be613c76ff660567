"""Time to generate the five datasets: the project's batched generators against a
per-sample loop over torchvision's own transforms doing the same work.

The batched side calls stn.data.distortions.distort on whole splits (no disk
cache: it would time a file read). The per-sample side renders the same drawn
parameters one digit at a time with torchvision.transforms.v2.functional
(rotate, affine, perspective, elastic, pad/crop), as a Dataset's __getitem__
would. It is timed on the first ``loop_samples`` digits and extrapolated
linearly to the full splits (each sample costs the same).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as TF
from torchvision.transforms.v2 import InterpolationMode

from stn import registry
from stn.bench.timing import synchronize
from stn.data import warps
from stn.data.clutter import PIECE_FIELDS
from stn.data.distortions import checked_distortion, distort
from stn.data.mnist import load_mnist
from stn.grids import TPSGrid, base_grid, regular_control_points

BILINEAR = InterpolationMode.BILINEAR
N_DIGITS = {"train": 60_000, "test": 10_000}
WARMUP_DIGITS = 64


def load_digits(mnist_dir, limit) -> tuple[dict[str, torch.Tensor], str]:
    """The digits of both splits, and where they came from (MNIST or synthetic noise)."""
    if mnist_dir is None:  # no download in a benchmark: noise costs the same to warp
        generator = torch.Generator().manual_seed(0)
        digits = {
            split: torch.randint(0, 256, (n, 28, 28), generator=generator).to(torch.uint8)
            for split, n in N_DIGITS.items()
        }
        source = "synthetic uint8 noise (paths.mnist_dir unset)"
    else:
        digits = {split: load_mnist(split, mnist_dir)[0] for split in N_DIGITS}
        source = f"MNIST ({Path(mnist_dir).name}/)"  # no machine path in committed results
    return {split: d[:limit] for split, d in digits.items()}, source


def run_datagen(cfg, device, log) -> dict:
    digits, source = load_digits(cfg.paths.mnist_dir, cfg.datagen.limit)
    on_device = {split: d.to(device) for split, d in digits.items()}
    n_total = sum(len(d) for d in digits.values())
    rows = []
    for data in cfg.datasets.values():
        name = data.name
        n_loop = min(cfg.datagen.loop_samples, len(digits["train"]))
        # The two sides alternate, so load from other processes hits them alike.
        times = [
            (_time_batched(name, data, on_device, device),
             _time_per_sample(name, data, digits["train"][:n_loop]))
            for _ in range(cfg.datagen.repeats)
        ]  # fmt: skip
        batched = statistics.median(t[0][0] for t in times)
        redraw = statistics.median(t[0][1] for t in times)
        measured = statistics.median(t[1] for t in times)
        extrapolated = measured * n_total / n_loop
        rows.append({
            "dataset": name, "image_size": data.image_size, "digits": n_total,
            "batched_s": batched, "redraw_epoch_s": redraw, "train_digits": len(digits["train"]),
            "loop_samples": n_loop, "loop_measured_s": measured,
            "loop_extrapolated_s": extrapolated, "speedup": extrapolated / batched,
        })
        log(f"{name:>4}: batched {batched:6.2f} s, per-sample loop ~{extrapolated:7.1f} s "
            f"(from {n_loop} digits), {extrapolated / batched:6.1f}x")
    batched = sum(r["batched_s"] for r in rows)
    loop = sum(r["loop_extrapolated_s"] for r in rows)
    return {"digits_source": source, "device": str(device), "loop_device": "cpu, 1 thread",
            "datasets": rows,
            "total": {"batched_s": batched, "loop_extrapolated_s": loop, "speedup": loop / batched}}


def _time_batched(name, data, digits, device) -> tuple[float, float]:
    """Seconds for both splits, and for the training split alone: what fresh distortions
    (data.redraw_train) cost at the start of every epoch."""
    warmup = digits["test"][:WARMUP_DIGITS]  # first calls pay one-off lazy initialisation
    distort(name, warmup, torch.Generator().manual_seed(0), data.image_size, data.distortion)
    seconds = {}
    for split, seed in (("train", data.train_seed), ("test", data.test_seed)):
        synchronize(device)
        start = time.perf_counter()
        generator = torch.Generator().manual_seed(seed)
        distort(name, digits[split], generator, data.image_size, data.distortion)
        synchronize(device)
        seconds[split] = time.perf_counter() - start
    return seconds["train"] + seconds["test"], seconds["train"]


def redraw_overhead(datagen: dict, throughput: list[dict]) -> list[dict]:
    """Per dataset and model: the epoch's redraw over the time to train on its digits (trainer
    img/s of the same run), i.e. how much slower fresh distortions make training."""
    rate = {(r["model"], r["image_size"]): r["trainer"]["images_per_s"] for r in throughput}
    out = []
    for d in datagen["datasets"]:
        # Per digit, not per full batch of the epoch: with datagen.limit below one batch
        # (a quick look at a few models) there is no full batch, and at 60k digits the two
        # differ by under 0.5%.
        for (model, size), images_per_s in rate.items():
            if size == d["image_size"]:
                out.append({"dataset": d["dataset"], "model": model,
                            "redraw_epoch_s": d["redraw_epoch_s"],
                            "overhead_pct": 100 * d["redraw_epoch_s"] * images_per_s
                            / d["train_digits"]})
    return out


def _time_per_sample(name, data, digits) -> float:
    """Seconds to render ``digits`` one at a time (the parameters are drawn first, untimed)."""
    size = data.image_size
    d = checked_distortion(name, size, data.distortion)
    params = registry.dataset(name).draw(len(digits), torch.Generator().manual_seed(0), d, size)
    render = PER_SAMPLE[name](d, size, digits)
    render(digits[:1], params[0])  # untimed warm-up, as for the batched side
    threads = torch.get_num_threads()
    # One thread, as in a DataLoader worker (torch sets it there): per-sample ops are too
    # small to split, and on a loaded machine a thread team waiting for a busy core made
    # each op ~20x slower, which would flatter the batched side.
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        for digit, row in zip(digits, params, strict=True):
            render(digit[None], row)
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)


# One factory per dataset: setup shared by all samples (fixed matrices) happens once,
# as it would in a Dataset's __init__; the returned function renders one digit.


def _r(d, size, pool):
    return lambda digit, row: TF.rotate(digit, row[0].item(), interpolation=BILINEAR)


def _rts(d, size, pool):
    margin = (size - warps.DIGIT) // 2

    def render(digit, row):
        angle, scale, tx, ty = row.tolist()
        canvas = TF.pad(digit, [margin])
        return TF.affine(canvas, angle=angle, translate=[tx, ty], scale=scale, shear=[0.0, 0.0],
                         interpolation=BILINEAR)

    return render


def _pixels(points: torch.Tensor) -> list[list[float]]:
    """Normalised (align_corners=False) points of the digit frame -> pixel coordinates."""
    return ((points + 1) * warps.HALF - 0.5).tolist()


def _p(d, size, pool):
    def render(digit, row):
        target, source = warps.point_pairs(warps.CORNER_POINTS, row[None], d["displace"])
        return TF.perspective(digit, _pixels(source[0]), _pixels(target[0]),
                              interpolation=BILINEAR)

    return render


def _e(d, size, pool):
    points = regular_control_points(int(d["grid_size"]))
    tps = TPSGrid(points, (size, size))
    identity = base_grid(size, size)[None]

    def render(digit, row):
        target, source = warps.point_pairs(points, row[None], d["displace"])
        if d["displace"] == "source":
            grid = tps(source)
        else:
            grid = warps.tps_grid_moving_targets(target, source, size)
        return TF.elastic(digit, grid - identity, interpolation=BILINEAR)

    return render


def _tc(d, size, pool):
    side, margin = int(d["clutter_size"]), (size - warps.DIGIT) // 2
    combine = torch.maximum if d["combine"] == "max" else _saturating_sum

    def render(digit, row):
        values = [int(v) for v in row.tolist()]
        left, top = margin + values[0], margin + values[1]
        right, bottom = size - warps.DIGIT - left, size - warps.DIGIT - top
        canvas = TF.pad(digit, [left, top, right, bottom])
        for piece in range(int(d["clutter_count"])):
            lo = 2 + piece * len(PIECE_FIELDS)
            src, crop_x, crop_y, x, y = values[lo:lo + len(PIECE_FIELDS)]
            crop = TF.crop(pool[src][None], crop_y, crop_x, side, side)
            area = canvas[:, y:y + side, x:x + side]
            canvas[:, y:y + side, x:x + side] = combine(area, crop).to(canvas.dtype)
        return canvas

    return render


def _saturating_sum(a, b):
    return (a.int() + b).clamp(max=255)  # in int32: no wrap-around at 255


PER_SAMPLE = {"r": _r, "rts": _rts, "p": _p, "e": _e, "tc": _tc}
