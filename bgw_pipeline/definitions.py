"""The Dagster code location: the definitions under defs/, loaded as `dg` loads a project.

Every asset, check, job, sensor and schedule lives in a module of defs/ and is found there;
this module only adds the resources, which the settings describe (tests pass their own).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

import bgw_pipeline.defs
from bgw_pipeline.defs.resources import build_resources

# As pyproject.toml's [tool.dg.project] says (test_definitions.py holds the two together).
# The tree is built from the package itself, so an installed wheel, with no pyproject.toml
# beside it, loads the same definitions as a checkout.
CODE_LOCATION = "bgw_pipeline"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_defs_folder() -> dg.Definitions:
    """Everything defined under defs/, without resources."""
    tree = dg.ComponentTree(
        defs_module=bgw_pipeline.defs,
        project_root=PROJECT_ROOT,
        code_location_name=CODE_LOCATION,
    )
    with warnings.catch_warnings():
        # Dagster's own loader calls functions that it marks as previews; that warning
        # is for Dagster's users of those functions, not for ours on every run.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return tree.build_defs()


def build_definitions(resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """The code location with the resources of the settings, or those given."""
    return dg.Definitions.merge(
        load_defs_folder(),
        dg.Definitions(resources=dict(resources) if resources is not None else build_resources()),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dg dev`, `dg check defs` and the webserver load."""
    return build_definitions()
