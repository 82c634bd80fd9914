"""/tokens and /tenants: the caller's API tokens and the organization's tenants."""

from flask_smorest import Blueprint

from chom.api import schemas as s
from chom.api.auth import current_actor
from chom.api.limits import api_limit, sensitive_limit
from chom.services import accounts, audit, tenants

blp = Blueprint("account", __name__, url_prefix="/api/v1", description="Tokens and tenants")
api_limit(blp)


@blp.route("/tokens", methods=["GET"])
@blp.response(200, s.envelope(s.TokenOut, "TokenListEnvelope", many=True))
def list_tokens():
    """The caller's live API tokens (never their values)."""
    return {"data": accounts.list_tokens(current_actor())}


@blp.route("/tokens", methods=["POST"])
@sensitive_limit
@blp.arguments(s.TokenIn)
@blp.response(201, s.envelope(s.TokenCreated, "TokenCreatedEnvelope"))
def create_token(body):
    """Create a named token with abilities and an optional expiry; its value is shown once."""
    token, plain = accounts.create_token(current_actor(), **body)
    token.plain_value = plain  # shown in this response only; never stored
    return {"data": token}


@blp.route("/tokens/<token_id>", methods=["DELETE"])
@blp.response(204)
def revoke_token(token_id):
    """Revoke one of the caller's tokens; it stops working at once."""
    accounts.revoke_token(current_actor(), token_id)


@blp.route("/tenants", methods=["GET"])
@blp.response(200, s.envelope(s.TenantOut, "TenantListEnvelope", many=True))
def list_tenants():
    """The organization's tenants the caller reaches."""
    return {"data": tenants.list_tenants(current_actor())}


@blp.route("/tenants", methods=["POST"])
@blp.arguments(s.TenantIn)
@blp.response(201, s.envelope(s.TenantOut, "TenantEnvelope"))
def create_tenant(body):
    """Create a tenant (admin and owner)."""
    return {"data": tenants.create_tenant(current_actor(), **body)}


def _tenant_out(usage):
    tenant = usage.tenant
    return {"id": tenant.id, "name": tenant.name, "plan": tenant.plan, "status": tenant.status,
            "trial_ends_at": tenant.trial_ends_at, "created_at": tenant.created_at,
            "usage": {"sites": usage.sites, "max_sites": usage.max_sites}}


@blp.route("/tenants/<tenant_id>", methods=["GET"])
@blp.response(200, s.envelope(s.TenantDetail, "TenantDetailEnvelope"))
def show_tenant(tenant_id):
    """A tenant the caller reaches, with its usage against its plan."""
    return {"data": _tenant_out(tenants.get_tenant(current_actor(), tenant_id))}


@blp.route("/tenants/<tenant_id>", methods=["PATCH"])
@blp.arguments(s.TenantIn)
@blp.response(200, s.envelope(s.TenantOut, "TenantRenamedEnvelope"))
def rename_tenant(body, tenant_id):
    """Rename a tenant (admin and owner)."""
    return {"data": tenants.rename_tenant(current_actor(), tenant_id, **body)}


@blp.route("/tenants/<tenant_id>", methods=["DELETE"])
@blp.response(204)
def delete_tenant(tenant_id):
    """Delete a tenant with no sites (409 lists them otherwise)."""
    tenants.delete_tenant(current_actor(), tenant_id)


@blp.route("/audit-log", methods=["GET"])
@blp.arguments(s.AuditArgs, location="query")
@blp.response(200, s.AuditList)
def audit_log(args):
    """Who did what in the organization, newest first (owner and admin); filter by action
    prefix, actor, tenant and time."""
    page = audit.list_entries(current_actor(), **args)
    return {"data": page.items,
            "meta": {"page": page.page, "per_page": page.per_page, "total": page.total}}
