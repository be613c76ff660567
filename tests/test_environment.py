"""environment.yml (conda users) and pyproject.toml must pin the same packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_environment_yml_pins_what_pyproject_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pyproject = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    (pip_section,) = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    conda_pins = {line for line in pip_section if not line.startswith("-")}
    assert conda_pins == pyproject
    assert "-e ." in pip_section  # the project itself, as `pip install -e .` does
    assert all("==" in pin for pin in pyproject), "every dependency is pinned"
