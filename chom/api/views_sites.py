"""/sites and /operations."""

from flask import jsonify, request, url_for
from flask_smorest import Blueprint

from chom.api import schemas as s
from chom.api.auth import current_actor, request_info, without_api_token
from chom.api.limits import api_limit
from chom.services import content, deploy_hooks
from chom.services import site_operations as operations
from chom.services import sites as site_service
from chom.services.sites import PlanPreview

blp = Blueprint("sites", __name__, url_prefix="/api/v1", description="Sites and operations")
api_limit(blp)

# One instance: given the class, webargs would build a schema on every request.
_SITE_LIST_ARGS = s.SiteListArgs()


@blp.route("/sites", methods=["GET"])
@blp.arguments(_SITE_LIST_ARGS, location="query")
@blp.response(200, s.SiteList)
def list_sites(args):
    """The current tenant's sites, newest first; filter by `status` and `type`."""
    # Rows serialised by a plain function (`SiteList` documents the same shape): flask-smorest
    # passes a ready response through.
    page = site_service.list_site_rows(current_actor(), **args)
    return jsonify({"data": [s.site_row_out(row) for row in page.items],
                    "meta": {"page": page.page, "per_page": page.per_page, "total": page.total}})


@blp.route("/sites", methods=["POST"])
@blp.arguments(s.SiteIn)
@blp.response(202, s.SiteAccepted)
@blp.alt_response(200, schema=s.PlanPreviewOut, description="`dry_run`: the plan, nothing done")
def create_site(body):
    """Create a site; its provisioning runs as a job (202). `dry_run` returns the plan."""
    result = site_service.create_site(current_actor(), **body)
    if isinstance(result, PlanPreview):
        return jsonify(s.PlanPreviewOut().dump({
            "dry_run": True, "domain": result.domain, "type": result.type,
            "vps": result.vps_name, "action": result.plan.action,
            "steps": [{"index": i, "step": type(step).__name__, "description": step.describe()}
                      for i, step in enumerate(result.plan.steps, start=1)],
        }))
    return {"data": result.site, "meta": {"operation_id": str(result.operation.id)}}


@blp.route("/sites/bulk", methods=["POST"])
@blp.arguments(s.SitesBulkIn)
@blp.response(202, s.SitesAccepted)
def create_sites(body):
    """Create up to 100 sites at once, all or none (one quota check, one transaction);
    their provisioning runs in batches per VPS."""
    created = site_service.create_sites(current_actor(), body["sites"])
    return {"data": [c.site for c in created],
            "meta": {"operation_ids": [str(c.operation.id) for c in created]}}


@blp.route("/sites/<site_id>", methods=["GET"])
@blp.response(200, s.envelope(s.SiteOut, "SiteEnvelope"))
def show_site(site_id):
    """One site of the current tenant."""
    return {"data": site_service.get_site(current_actor(), site_id)}


@blp.route("/sites/<site_id>", methods=["DELETE"])
@blp.response(202, s.envelope(s.OperationOut, "OperationEnvelope"))
def delete_site(site_id):
    """Delete a site: its VPS is cleaned by a job; returns that job's Operation."""
    return {"data": operations.delete_site(current_actor(), site_id)}


@blp.route("/sites/<site_id>/ssl", methods=["POST"])
@blp.response(202, s.envelope(s.OperationOut, "SslEnvelope"))
def issue_ssl(site_id):
    """Issue (or renew) the site's certificate through ACME HTTP-01; 202 with the Operation."""
    return {"data": operations.request_operation(current_actor(), site_id, "ssl")}


@blp.route("/sites/<site_id>/content", methods=["POST"])
@blp.arguments(s.ContentUpload, location="files")
@blp.response(202, s.envelope(s.OperationOut, "ContentEnvelope"))
def upload_content(files, site_id):
    """Upload a zip or tar archive of the site's files (HTML sites); it is validated (no path
    leaves the web root, no links) and unpacked into the web root by an Operation."""
    upload = files["archive"]
    return {"data": content.deploy_content(current_actor(), site_id,
                                           filename=upload.filename or "upload",
                                           data=upload.read())}


@blp.route("/sites/<site_id>/suspend", methods=["POST"])
@blp.response(202, s.envelope(s.OperationOut, "SuspendEnvelope"))
def suspend_site(site_id):
    """Suspend an active site: its VPS answers a suspended page (503)."""
    return {"data": operations.request_operation(current_actor(), site_id, "suspend")}


@blp.route("/sites/<site_id>/resume", methods=["POST"])
@blp.response(202, s.envelope(s.OperationOut, "ResumeEnvelope"))
def resume_site(site_id):
    """Serve a suspended site again."""
    return {"data": operations.request_operation(current_actor(), site_id, "resume")}


@blp.route("/sites/<site_id>/deploy", methods=["POST"])
@blp.response(202, s.envelope(s.OperationOut, "DeployEnvelope"))
def deploy_site(site_id):
    """Deploy an active site's code again from where it comes from (a Laravel app: its git
    repository's `git_ref`, then Composer, migrations and a PHP-FPM reload); 409 for a site
    with nothing to deploy. A failed deploy leaves the site serving what it served."""
    return {"data": operations.request_operation(current_actor(), site_id, "deploy")}


@blp.route("/sites/<site_id>/deploy-hook", methods=["POST"])
@blp.response(201, s.envelope(s.DeployHookOut, "DeployHookEnvelope"))
def create_deploy_hook(site_id):
    """A push-to-deploy URL for the site (give it to your git host's webhook): a POST to it
    deploys the site. Shown once; asking again makes a new one and ends the old. 409 for a
    site with nothing to deploy."""
    token = deploy_hooks.create_deploy_hook(current_actor(), site_id)
    return {"data": {"url": url_for("sites.deploy_from_hook", hook_token=token, _external=True),
                     "token": token}}


@blp.route("/sites/<site_id>/deploy-hook", methods=["DELETE"])
@blp.response(204)
def delete_deploy_hook(site_id):
    """End the site's push-to-deploy URL."""
    deploy_hooks.delete_deploy_hook(current_actor(), site_id)


@blp.route("/deploy-hooks/<hook_token>", methods=["POST"])
@without_api_token(blp)  # the secret is in its URL
@blp.response(202, s.envelope(s.OperationOut, "HookDeployEnvelope"))
@blp.alt_response(200, schema=s.HookSkippedOut,
                  description="a push to another branch or tag than the site deploys from")
def deploy_from_hook(hook_token):
    """Deploy the site this push-to-deploy URL belongs to (no token: the URL is the
    credential). A JSON body's `ref` (a git host's push event: `refs/heads/main`) naming
    another branch or tag than the site's `git_ref` deploys nothing (200); anything else in
    the body is ignored. 404 for a URL that is not, or no longer, a site's."""
    body = request.get_json(silent=True)
    ref = body.get("ref") if isinstance(body, dict) else None
    started = deploy_hooks.deploy_from_hook(hook_token, request_info(),
                                            ref if isinstance(ref, str) else None)
    if isinstance(started, deploy_hooks.Skipped):
        return jsonify(s.HookSkippedOut().dump({"skipped": True, "pushed": started.pushed,
                                                "deploys": started.deploys}))
    return {"data": started}


@blp.route("/sites/<site_id>/retry", methods=["POST"])
@blp.response(202, s.envelope(s.OperationOut, "RetryEnvelope"))
def retry_site(site_id):
    """Run a failed site's last operation again; plans converge, so this is safe."""
    return {"data": operations.request_operation(current_actor(), site_id, "retry")}


@blp.route("/sites/<site_id>/operations", methods=["GET"])
@blp.arguments(s.PageArgs, location="query")
@blp.response(200, s.OperationList)
def list_operations(args, site_id):
    """A site's operations (provisioning runs), newest first."""
    items, total = operations.list_operations(current_actor(), site_id, **args)
    return {"data": items, "meta": {**args, "total": total}}


@blp.route("/operations/<operation_id>", methods=["GET"])
@blp.response(200, s.envelope(s.OperationOut, "OperationDetailEnvelope"))
def show_operation(operation_id):
    """A provisioning run: status, step i of n, log."""
    return {"data": operations.get_operation(current_actor(), operation_id)}
