"""The CHOM plugin contract.

Every hook a plugin may implement is specified here, and its docstring is its documentation.
Implement a hook with `chom.plugin_api.hookimpl`; arguments are passed by keyword, so an
implementation may accept only the ones it needs. `docs/plugins.md` walks through each.
"""

import pluggy

hookspec = pluggy.HookspecMarker("chom")


# --- Site types -----------------------------------------------------------------------------


@hookspec
def chom_register_site_types():
    """Return the site types this plugin provides.

    Called once when the app starts. Return a list of `chom.plugin_api.SiteType` instances;
    each `name` must be unique across all plugins (a duplicate stops start-up).
    """


# --- Transports -----------------------------------------------------------------------------


@hookspec
def chom_register_transports():
    """Return the transports this plugin provides, as a mapping of name to factory.

    A factory is called as `factory(vps=..., config=...)`, where `vps` is a read-only
    description of the server (host, port, user, pinned host key, settings) and `config` the
    app's settings, and returns a `chom.plugin_api.Transport`. The built-in `ssh` and `local`
    transports are registered through this hook too.
    """


# --- Observability backends -----------------------------------------------------------------


@hookspec
def chom_register_observability_backends(config):
    """Return the observability backends to use with these settings.

    `config` is the app's settings mapping. Return a list of
    `chom.plugin_api.ObservabilityBackend` instances (for example Prometheus when
    `PROMETHEUS_URL` is set), or an empty list when the plugin has nothing configured.
    """


# --- Lifecycle ------------------------------------------------------------------------------


@hookspec
def chom_site_provisioned(site):
    """Called after a site's provision plan has been applied and the site is active.

    `site` is a `chom.plugin_api.SiteContext`. The return value is ignored; an exception is
    logged and does not fail the provisioning.
    """


@hookspec
def chom_site_suspended(site):
    """Called after a site's suspend plan has been applied. `site` is a `SiteContext`."""


@hookspec
def chom_site_deleted(site):
    """Called after a site's deprovision plan has been applied and its row marked deleted.

    `site` is a `SiteContext`; its VPS no longer holds any of it.
    """


@hookspec
def chom_before_step(site, step):
    """Called before each plan step is applied to a VPS.

    `site` is a `SiteContext`, `step` a `chom.plugin_api.Step`. The return value is ignored.
    """


@hookspec
def chom_after_step(site, step, result):
    """Called after each plan step is applied.

    `result` is `"changed"`, `"unchanged"` or `"failed"`. The return value is ignored.
    """


@hookspec
def chom_site_backed_up(site, backup_id, size_bytes):
    """Called after a backup of a site has been stored completely (every part, checksummed).

    `site` is a `SiteContext`, `backup_id` the backup's public id (a string), `size_bytes` the
    bytes stored. What a backup holds comes from `SiteType.backup_parts`. The return value is
    ignored; an exception is logged and does not fail the backup.
    """


@hookspec
def chom_site_restored(site):
    """Called after a backup has been restored into a site and `SiteType.restore_plan` applied.

    `site` is a `SiteContext` of the site restored into (the site itself, or a new clone with
    its own domain). The return value is ignored; an exception is logged.
    """
