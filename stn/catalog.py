"""The paper's eight networks and five datasets, registered in the table's order.

Rows: Table 1 (left) of Jaderberg et al. 2015; columns: its four datasets plus
TC from the text of section 4.1 (docs/paper.md). Every other list of models or
datasets derives from these registrations (stn/registry.py).
"""

from __future__ import annotations

from stn.data import clutter, schemas, warps
from stn.registry import DatasetSpec, ModelSpec, register_dataset, register_model
from stn.report.paper import SOURCE_TABLE, SOURCE_TC_BACKBONE, SOURCE_TEXT

for name, label, size, schema, names, draw, render in (
    ("r", "R", 28, schemas.RDistortion, warps.names_r, warps.draw_r, warps.render_r),
    ("rts", "RTS", 42, schemas.RTSDistortion, warps.names_rts, warps.draw_rts, warps.render_rts),
    ("p", "P", 28, schemas.PDistortion, warps.names_p, warps.draw_p, warps.render_p),
    ("e", "E", 28, schemas.EDistortion, warps.names_e, warps.draw_e, warps.render_e),
    ("tc", "TC", 60, schemas.TCDistortion, clutter.names_tc, clutter.draw_tc, clutter.render_tc),
):
    register_dataset(DatasetSpec(name, label, size, schema, names, draw, render,
                                 paper_source=SOURCE_TEXT if name == "tc" else SOURCE_TABLE))

# Free width per parameter budget (model.budget: the CNN baseline's first-conv channels c;
# its second conv has 2c), image size and model (FCN: hidden units; CNN: first-conv
# channels), from stn.budget.rule_width; tests/test_models.py holds every entry to that rule.
WIDTHS = {
    32: {
        28: {"fcn": 116, "cnn": 32, "st_fcn_aff": 88, "st_fcn_proj": 88, "st_fcn_tps": 88,
             "st_cnn_aff": 30, "st_cnn_proj": 30, "st_cnn_tps": 30},
        42: {"fcn": 68, "cnn": 32, "st_fcn_aff": 118, "st_fcn_proj": 118, "st_fcn_tps": 117,
             "st_cnn_aff": 33, "st_cnn_proj": 33, "st_cnn_tps": 33},
        60: {"fcn": 46, "cnn": 32, "st_fcn_aff": 51, "st_fcn_proj": 51, "st_fcn_tps": 51,
             "st_cnn_aff": 34, "st_cnn_proj": 34, "st_cnn_tps": 34},
    },
    64: {
        28: {"fcn": 357, "cnn": 64, "st_fcn_aff": 339, "st_fcn_proj": 339, "st_fcn_tps": 338,
             "st_cnn_aff": 63, "st_cnn_proj": 63, "st_cnn_tps": 63},
        42: {"fcn": 226, "cnn": 64, "st_fcn_aff": 441, "st_fcn_proj": 441, "st_fcn_tps": 440,
             "st_cnn_aff": 66, "st_cnn_proj": 66, "st_cnn_tps": 66},
        60: {"fcn": 142, "cnn": 64, "st_fcn_aff": 335, "st_fcn_proj": 335, "st_fcn_tps": 334,
             "st_cnn_aff": 69, "st_cnn_proj": 69, "st_cnn_tps": 69},
    },
}  # fmt: skip

# model: (R, RTS, P, E) of Table 1 (left), then TC from the text (% test error). TC is not
# in Table 1: the text gives one number per backbone (FCN 13.2, CNN 3.5, ST-FCN 2.0,
# ST-CNN 1.7) without naming the transform, so each ST variant of a backbone shows that
# number, marked SOURCE_TC_BACKBONE so nobody reads it as its own.
_PAPER = {
    "fcn": (2.1, 5.2, 3.1, 3.2, 13.2),
    "cnn": (1.2, 0.8, 1.5, 1.4, 3.5),
    "st_fcn_aff": (1.2, 0.8, 1.5, 2.7, 2.0),
    "st_fcn_proj": (1.3, 0.9, 1.4, 2.6, 2.0),
    "st_fcn_tps": (1.1, 0.8, 1.4, 2.4, 2.0),
    "st_cnn_aff": (0.7, 0.5, 0.8, 1.2, 1.7),
    "st_cnn_proj": (0.8, 0.6, 0.8, 1.3, 1.7),
    "st_cnn_tps": (0.7, 0.5, 0.8, 1.1, 1.7),
}
_TRANSFORM_LABELS = {"aff": "Aff", "proj": "Proj", "tps": "TPS"}

for name, errors in _PAPER.items():
    parts = name.split("_")  # fcn | cnn | st_<backbone>_<transform>
    backbone, transform = (parts[1], parts[2]) if parts[0] == "st" else (parts[0], None)
    label = backbone.upper() if transform is None else (
        f"ST-{backbone.upper()} {_TRANSFORM_LABELS[transform]}")
    register_model(ModelSpec(
        name, label, backbone, transform,
        widths={b: {s: w[name] for s, w in by_size.items()} for b, by_size in WIDTHS.items()},
        paper=dict(zip(("r", "rts", "p", "e", "tc"), errors, strict=True)),
        paper_sources={"tc": SOURCE_TC_BACKBONE} if transform else {},
    ))
