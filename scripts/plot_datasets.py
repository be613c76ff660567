"""Figure results/figures/datasets.png: test samples of each dataset next to their source digit.

    python scripts/plot_datasets.py                      # all five, from data/distorted/
    python scripts/plot_datasets.py rts tc paths.data_dir=/tmp/data

Same arguments as scripts/make_datasets.py (dataset names, Hydra overrides);
missing datasets are generated first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from stn import registry  # noqa: E402
from stn.data.compose import compose_data  # noqa: E402
from stn.data.datasets import ensure_dataset, load_digits, load_split  # noqa: E402
from stn.errors import UserError  # noqa: E402

SAMPLES = 6  # the first test digits, so the figure is the same on every machine


def caption(name: str, values: dict[str, float]) -> str:
    """The distortion drawn for one sample, in a few characters."""
    if name == "r":
        return f"{values['angle']:+.0f}°"
    if name == "rts":
        shift = f"({values['tx']:+.0f},{values['ty']:+.0f})"
        return f"{values['angle']:+.0f}° ×{values['scale']:.2f} {shift}"
    if name in ("p", "e"):
        return f"scale {values['scale']:.2f}"
    return f"at ({values['tx']:+.0f},{values['ty']:+.0f})"


def plot(names: list[str], overrides: list[str]) -> Path:
    configs = [compose_data(name, overrides) for name in names]
    figure, axes = plt.subplots(
        len(configs), 2 * SAMPLES, figsize=(2 * SAMPLES * 1.05, len(configs) * 1.35), squeeze=False
    )
    for row, (data, paths) in enumerate(configs):
        ensure_dataset(data, paths.data_dir, paths.mnist_dir)
        split = load_split(data, paths.data_dir, "test")
        sources, _ = load_digits(data, "test", paths.mnist_dir)
        for i in range(SAMPLES):
            values = dict(zip(split["param_names"], split["params"][i].tolist(), strict=True))
            source_ax, distorted_ax = axes[row, 2 * i], axes[row, 2 * i + 1]
            source_ax.imshow(sources[i].numpy(), cmap="gray", vmin=0, vmax=255)
            source_ax.set_title(f"MNIST {split['labels'][i].item()}", fontsize=7)
            distorted_ax.imshow(split["images"][i, 0].numpy(), cmap="gray", vmin=0, vmax=255)
            distorted_ax.set_title(caption(data.name, values), fontsize=7)
        size = data.image_size
        axes[row, 0].set_ylabel(f"{data.name.upper()}\n{size}x{size}", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle("Distorted MNIST test samples (right of each pair) and their source digit")
    figure.tight_layout()
    out = Path(configs[0][1].results_dir) / "figures" / "datasets.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    return out


def main() -> int:
    args = sys.argv[1:]
    try:
        names = [a for a in args if "=" not in a] or list(registry.dataset_names())
        out = plot(names, [a for a in args if "=" in a])
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
