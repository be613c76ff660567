"""Print the parameter count of every Table 1 network per image size (markdown).

    python scripts/param_table.py          # `make params`

The widths come from the model specs (stn/catalog.py); the rule that chose them is printed
under the table (stn.budget.RULE). `make report` writes the same rows to
results/params.csv.
"""

from __future__ import annotations

from stn import registry
from stn.budget import RULE, parameter_table
from stn.models import IMAGE_SIZES


def markdown(rows: list[dict]) -> str:
    """Models down, image sizes across; each cell 'params (width, % of budget)'."""
    cell = {(r["model"], r["image_size"]): r for r in rows}
    lines = [
        "| model | " + " | ".join(f"{s}x{s}" for s in IMAGE_SIZES) + " |",
        "|---" * (len(IMAGE_SIZES) + 1) + "|",
    ]
    for name in registry.model_names():
        cells = [
            f"{r['params']:,} ({r['width']}, {100 * r['ratio']:.1f}%)"
            for r in (cell[name, s] for s in IMAGE_SIZES)
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    budgets = [f"{cell['cnn', s]['budget']:,}" for s in IMAGE_SIZES]
    lines.append("| budget | " + " | ".join(budgets) + " |")
    return "\n".join(lines)


def main() -> None:
    print(markdown(parameter_table()))
    print(f"\nRule: {RULE}.")


if __name__ == "__main__":
    main()
