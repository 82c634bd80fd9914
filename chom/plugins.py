"""The plugin manager: the core's built-in plugins, then every entry point of group `chom`."""

from __future__ import annotations

import importlib

import pluggy

from chom import hookspecs
from chom.plugin_api import ObservabilityBackend, SiteType

# Built-ins register through the same hooks a third party uses (like pytest's default_plugins).
DEFAULT_PLUGINS = (
    "chom.integration.transports.local",
    "chom.integration.transports.ssh",
    "chom.integration.observability.prometheus",
    "chom.integration.observability.loki",
    "chom.integration.observability.grafana",
    "chom.integration.observability.alertmanager",
    # The core's own listener: a tenant's dashboards follow its sites.
    "chom.services.dashboards",
)


class PluginError(RuntimeError):
    """A plugin is broken: a hook with no spec, or a duplicate site type."""


def build_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    """Create the manager, register built-ins and installed plugins, and check them."""
    pm = pluggy.PluginManager("chom")
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        pm.load_setuptools_entrypoints("chom")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(str(error)) from error
    return pm


def site_types(pm: pluggy.PluginManager) -> dict[str, SiteType]:
    """Every registered site type by name; a name registered twice is an error."""
    found: dict[str, SiteType] = {}
    for batch in pm.hook.chom_register_site_types():
        for site_type in batch:
            if site_type.name in found:
                raise PluginError(f"site type {site_type.name!r} is registered twice")
            found[site_type.name] = site_type
    return found


def transports(pm: pluggy.PluginManager) -> dict:
    """Every registered transport factory by name."""
    found: dict = {}
    for batch in pm.hook.chom_register_transports():
        found.update(batch)
    return found


def observability_backends(pm: pluggy.PluginManager, config) -> dict[str, ObservabilityBackend]:
    """Every configured observability backend by name; a name registered twice is an error."""
    found: dict[str, ObservabilityBackend] = {}
    for batch in pm.hook.chom_register_observability_backends(config=config):
        for backend in batch:
            if backend.name in found:
                raise PluginError(f"observability backend {backend.name!r} is registered twice")
            found[backend.name] = backend
    return found


def current_site_types() -> dict[str, SiteType]:
    """The site types registered with the current app."""
    from flask import current_app

    return current_app.extensions["chom_site_types"]
