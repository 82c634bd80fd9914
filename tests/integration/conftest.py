"""Integration tests may use the test fleet and pebble (tests/fleet/plugin.py)."""

from tests.fleet import plugin as _fleet_plugin


def pytest_configure(config):
    if not config.pluginmanager.is_registered(_fleet_plugin):
        config.pluginmanager.register(_fleet_plugin, "tests.fleet.plugin")
