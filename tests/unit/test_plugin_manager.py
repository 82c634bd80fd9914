"""The plugin manager: built-ins, entry points, and broken plugins refused at start-up."""

import pytest

from chom.plugin_api import Plan, SiteType, hookimpl
from chom.plugins import PluginError, build_plugin_manager, site_types, transports


def test_entry_point_plugins_and_built_ins_are_found():
    pm = build_plugin_manager()
    assert {"html", "wordpress", "laravel"} <= set(site_types(pm))
    assert "local" in transports(pm)
    assert {"chom_html", "chom_wordpress", "chom_laravel"} <= {
        getattr(plugin, "__name__", "") for plugin in pm.get_plugins()}


def test_app_exposes_registered_site_types(app):
    assert {"html", "wordpress", "laravel"} <= set(app.extensions["chom_site_types"])


def test_hook_without_spec_is_an_error():
    class Typo:
        @hookimpl
        def chom_register_site_typos(self):
            return []

    pm = build_plugin_manager(load_entry_points=False)
    pm.register(Typo(), name="typo")
    with pytest.raises(Exception, match="unknown hook"):
        pm.check_pending()


def test_a_duplicate_site_type_name_is_refused():
    class Again(SiteType):
        name, label = "html", "HTML again"

        def provision_plan(self, site):
            return Plan("provision", ())

        def deprovision_plan(self, site):
            return Plan("deprovision", ())

    class Duplicate:
        @hookimpl
        def chom_register_site_types(self):
            return [Again()]

    pm = build_plugin_manager()
    pm.register(Duplicate(), name="duplicate")
    try:
        with pytest.raises(PluginError, match="twice"):
            site_types(pm)
    finally:
        pm.unregister(name="duplicate")
