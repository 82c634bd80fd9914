"""Fixtures for the site-type plugins' tests: the three types, found by their entry points."""

from __future__ import annotations

import importlib.metadata

import pytest
from plugin_cases import PLUGIN_MODULES

from chom.plugin_api import SiteType


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group="chom")}
    missing = sorted(set(PLUGIN_MODULES) - set(found))
    if missing:
        pytest.fail(
            f"entry points {missing} of group 'chom' are not installed: "
            "pip install -e plugins/chom-html plugins/chom-wordpress plugins/chom-laravel",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def plugin_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return _entry_points()


@pytest.fixture(scope="session")
def site_types(plugin_entry_points) -> dict[str, SiteType]:
    """Each site type by name, from its plugin's `chom_register_site_types` hook."""
    types = {}
    for name in PLUGIN_MODULES:
        module = plugin_entry_points[name].load()
        (site_type,) = module.chom_register_site_types()
        types[site_type.name] = site_type
    return types
