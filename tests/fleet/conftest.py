"""Makes the fleet plugin (the `fleet` fixture) available to the tests in this directory.

Not `pytest_plugins = [...]` here: pytest refuses that in a conftest below the top level when
the whole suite runs. The plugin is registered once, whichever registers it first (this hook,
or `pytest_plugins = ["tests.fleet.plugin"]` in tests/conftest.py).
"""

from tests.fleet import plugin as _fleet_plugin


def pytest_configure(config):
    if not config.pluginmanager.is_registered(_fleet_plugin):
        config.pluginmanager.register(_fleet_plugin, "tests.fleet.plugin")
