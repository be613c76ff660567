"""The paper's numbers, read from the registry (stn/catalog.py), and its protocol.

All values are % test error (Jaderberg et al. 2015, see docs/paper.md): Table 1
(left) for R, RTS, P and E, the text of section 4.1 for TC. TC's text gives one
number per backbone without naming the transform; each ST variant of a backbone
shows it, marked with ``SOURCE_TC_BACKBONE`` and explained by ``PAPER_TC_NOTE``,
so nobody reads it as a per-transform result. A registered model or dataset
without a paper number has none here (None), and the report shows "–".
"""

from __future__ import annotations

from stn import registry
from stn.train.run_folder import NEUTRAL_KEYS

# Where a paper number comes from (stn/catalog.py attaches one to every number).
SOURCE_TABLE = "table 1"
SOURCE_TEXT = "text"
SOURCE_TC_BACKBONE = "text, per backbone"

PAPER_TC_NOTE = (
    "TC: the paper's text gives one number per backbone (ST-FCN 2.0, ST-CNN 1.7) "
    "without naming the transform; it is shown beside each ST variant of that backbone."
)
NO_NUMBER = "–"  # shown where the paper has no number for a cell


def models() -> tuple[str, ...]:
    """The table's rows: every registered model, in order."""
    return registry.model_names()


def datasets() -> tuple[str, ...]:
    """The table's columns: every registered dataset, in order."""
    return registry.dataset_names()


def model_label(model: str) -> str:
    """The registered label ('ST-FCN Aff'); the name itself for a model no longer registered
    (an old run folder)."""
    spec = registry.models().get(model)
    return model if spec is None else spec.label


def data_label(data: str) -> str:
    spec = registry.datasets().get(data)
    return data if spec is None else spec.label


def paper_error(model: str, data: str) -> tuple[float | None, str | None]:
    """(the paper's % error, where it comes from) for one cell; (None, None) where the
    paper has no number for it."""
    spec = registry.model(model)
    if data not in spec.paper:
        return None, None
    return spec.paper[data], spec.paper_sources.get(data, registry.dataset(data).paper_source)


# The paper's training protocol (Appendix A.4); a profile whose schedule differs
# in any of these is never presented as the paper protocol.
PAPER_SCHEDULE = {
    "iterations": 150_000,
    "batch_size": 256,
    "lr": 0.01,
    "lr_decay_every": 50_000,
    "lr_decay_factor": 0.1,
    "weight_decay": 0.0,
    "shape": "step",
    "warmup": 0,
    "loc_lr_scale": 1.0,
}


def is_paper_schedule(schedule: dict) -> bool:
    """Whether a run's recorded schedule is the paper's (precision aside). A run recorded
    before a key existed lacks it and had its neutral value (run_folder.NEUTRAL_KEYS)."""
    recorded = {key: neutral for (section, key), neutral in NEUTRAL_KEYS.items()
                if section == "schedule"} | schedule
    return all(recorded.get(k) == v for k, v in PAPER_SCHEDULE.items())


TEST_DIGITS = 10_000  # the MNIST test set, every final number of the paper
