"""The typed data schemas: composition-time errors, and run fingerprints they must not move."""

from __future__ import annotations

import dataclasses

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from stn import registry
from stn.config import compose_train, data_schema
from stn.data.datasets import typed_data
from stn.errors import ConfigError
from stn.train.run_folder import fingerprint

# Fingerprints of the paper protocol's FCN cells (budget 32, RTS placement "range", E
# displace "source", the defaults then) as recorded by runs trained before the schemas
# existed: a schema that changed a resolved value (an int read back as a float, a new
# key) would orphan every finished run, so it must fail here first.
RECORDED = {
    "r": "a068f11bc739c8cd",
    "rts": "067dfe9cb7e068c8",
    "p": "c7fa7a89fae06b56",
    "e": "4a034d1f1eb7d0c5",
    "tc": "54317069c881dd47",
}


def test_every_dataset_has_a_schema_and_its_yaml_sets_every_field():
    for name, spec in registry.datasets().items():
        cfg = compose_train([f"data={name}"])
        assert OmegaConf.get_type(cfg.data) is data_schema(name)
        assert OmegaConf.get_type(cfg.data.distortion) is spec.schema
        assert cfg.data.image_size == spec.image_size, name
        assert not OmegaConf.missing_keys(cfg.data), name


@pytest.mark.parametrize("name", registry.dataset_names())
def test_a_misspelled_distortion_key_fails_at_composition(name):
    with pytest.raises(ConfigCompositionException, match="Could not override"):
        compose_train([f"data={name}", "data.distortion.sigmaa=1"])
    with pytest.raises(ConfigCompositionException):  # the wrong type is caught as well
        compose_train([f"data={name}", "data.image_size=wide"])


@pytest.mark.parametrize("name", registry.dataset_names())
def test_the_schemas_keep_recorded_run_fingerprints(name):
    then = ["model.budget=32", *{"rts": ["data.distortion.placement=range"],
                                 "e": ["data.distortion.displace=source"]}.get(name, [])]
    cfg = compose_train([f"data={name}", "model=fcn", "schedule=paper", *then])
    assert fingerprint(OmegaConf.to_container(cfg, resolve=True)) == RECORDED[name]


def test_a_typed_config_is_checked_once_and_then_passed_through():
    typed = typed_data(compose_train(["data=rts"]).data)
    assert isinstance(typed, data_schema("rts")) and typed_data(typed) is typed
    bad = dataclasses.replace(typed, distortion=dataclasses.replace(typed.distortion,
                                                                    placement="fits"))
    with pytest.raises(ConfigError, match="placement must be one of"):
        typed_data(dataclasses.asdict(bad))
