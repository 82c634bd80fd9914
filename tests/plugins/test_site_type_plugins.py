"""The three plugin packages: discoverable through entry points, registered through pluggy,
importing nothing from chom but its public plugin API."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

import pluggy
from plugin_cases import PLUGIN_MODULES

from chom import hookspecs
from chom.plugin_api import SiteType

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
STANDARD_LIBRARY = set(sys.stdlib_module_names) | {"__future__"}


def test_entry_points_name_the_three_modules(plugin_entry_points):
    for name, module in PLUGIN_MODULES.items():
        assert plugin_entry_points[name].value == module
        assert plugin_entry_points[name].dist.version == "0.1.0"


def test_plugin_manager_finds_the_site_types_through_entry_points():
    pm = pluggy.PluginManager("chom")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints("chom")
    pm.check_pending()
    types = [t for batch in pm.hook.chom_register_site_types() for t in batch]
    assert all(isinstance(t, SiteType) for t in types)
    by_name = {t.name: t for t in types}
    assert set(PLUGIN_MODULES) <= set(by_name)
    assert {
        name: (by_name[name].uses_php, by_name[name].needs_database) for name in PLUGIN_MODULES
    } == {
        "html": (False, False),
        "wordpress": (True, True),
        "laravel": (True, True),
    }


def test_installed_distributions_depend_on_chom():
    for name in PLUGIN_MODULES:
        requires = importlib.metadata.requires(f"chom-{name}") or []
        assert "chom" in requires


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_plugins_import_only_the_plugin_api_and_the_standard_library():
    sources = sorted(PLUGINS.glob("chom-*/src/chom_*/**/*.py"))
    assert len(sources) >= 3
    for source in sources:
        own = source.relative_to(PLUGINS).parts[2]
        for module in _imports(source):
            top = module.split(".")[0]
            allowed = module == "chom.plugin_api" or top in STANDARD_LIBRARY or top == own
            assert allowed, f"{source} imports {module}"
