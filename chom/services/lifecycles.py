"""What each operation kind does to its site: its plan, its statuses, how it is recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

from chom.extensions import db
from chom.models import Operation, Site
from chom.models.base import utcnow
from chom.plugin_api import EnsureDirectory, ExtractArchive, Plan
from chom.plugins import current_site_types
from chom.services import notifications
from chom.services.site_profile import site_context

log = logging.getLogger(__name__)

FINISHED = ("succeeded", "failed")


@dataclass(frozen=True)
class Lifecycle:
    """How an operation kind moves its site, and which hook announces the result.

    A `None` status leaves the site's status as it is; `fails_site=False` means a failure
    fails the operation only (the site keeps serving what it served)."""

    action: str
    running_status: str | None
    done_status: str | None
    hook: str | None
    fails_site: bool = True


LIFECYCLES = {
    "provision": Lifecycle("provision", "provisioning", "active", "chom_site_provisioned"),
    "deprovision": Lifecycle("deprovision", "deleting", "deleted", "chom_site_deleted"),
    "suspend": Lifecycle("suspend", "suspended", "suspended", "chom_site_suspended"),
    "resume": Lifecycle("resume", "provisioning", "active", None),
    "deploy_content": Lifecycle("deploy_content", None, None, None, fails_site=False),
    # The site type's deploy (an app from git): a failed one leaves the old code serving.
    "deploy": Lifecycle("deploy", None, None, None, fails_site=False),
    # Re-applies the provision plan to a site that drifted (`services.coherency`).
    "repair": Lifecycle("provision", None, "active", None, fails_site=False),
    # Run alone, by `services.backup_runs`: a failed backup or restore fails only itself.
    "backup": Lifecycle("backup", None, None, None, fails_site=False),
    "restore": Lifecycle("restore", None, "active", None, fails_site=False),
}


def _content_plan(operation: Operation, context) -> Plan:
    """Uploaded content, already validated and repacked (`services.content`)."""
    return Plan("deploy_content", (
        EnsureDirectory(context.paths.web_root, owner=context.paths.system_user),
        ExtractArchive(context.paths.web_root, operation.payload,
                       owner=context.paths.system_user),
    ))


# Plans the core builds itself; every other action's plan comes from the site type.
CORE_PLANS = {"deploy_content": _content_plan}


def current_context(site: Site):
    """The site's `SiteContext` as it is now, its database password decrypted."""
    secret_box = current_app.extensions["chom_secrets"]
    password = secret_box.decrypt(site.db_password_encrypted) \
        if site.db_password_encrypted else None
    return site_context(site, site.vps, password)


def site_type_plan(site: Site, action: str) -> Plan:
    """The site type's plan for `action` on `site` as it is now."""
    return current_site_types()[site.type].plan_for(action, current_context(site))


def build_plan(operation: Operation):
    """`(lifecycle, site context, plan)` for the operation, from its site as it is now."""
    site = operation.site
    lifecycle = LIFECYCLES[operation.kind]
    context = current_context(site)
    core_plan = CORE_PLANS.get(lifecycle.action)
    plan = (core_plan(operation, context) if core_plan
            else current_site_types()[site.type].plan_for(lifecycle.action, context))
    if plan is None:  # checked when the deploy was asked for; only a plugin change gets here
        raise NothingToDeploy(f"A {site.type} site like {site.domain} has nothing to deploy.")
    return lifecycle, context, plan


class NothingToDeploy(RuntimeError):
    """The site type has no deploy plan for this site."""


def can_deploy(site: Site) -> bool:
    """Whether the site's type has something to deploy for it (an app from git, say)."""
    return site_type_plan(site, "deploy") is not None


def append_log(operation: Operation, line: str) -> None:
    operation.log = (operation.log or "") + line + "\n"


def finish(operation, site, status, error, lifecycle: Lifecycle | None = None, *,
           commit: bool = True) -> None:
    lifecycle = lifecycle or LIFECYCLES.get(operation.kind)
    operation.status = status
    operation.error = error
    operation.finished_at = utcnow()
    if status == "failed":
        if lifecycle is None or lifecycle.fails_site:
            site.status = "failed"
        append_log(operation, f"failed: {error}")
        if lifecycle is not None and lifecycle.action == "provision":
            notifications.notify_tenant(site.tenant_id, "site.provisioning_failed", {
                "site_id": str(site.id), "domain": site.domain,
                "operation_id": str(operation.id), "error": (error or "")[:1000]})
    else:
        site.status = lifecycle.done_status or site.status
        if lifecycle.done_status == "deleted":
            site.deleted_at = utcnow()
        append_log(operation, "done")
    if commit:
        db.session.commit()


def announce(hook_name: str, context) -> None:
    hook = getattr(current_app.extensions["chom_plugins"].hook, hook_name)
    try:
        hook(site=context)
    except Exception:  # a plugin's listener must not undo a finished operation
        log.exception("%s listener failed", hook_name)
