"""/billing: plans, usage, subscription, checkout, portal, invoices."""

from flask_smorest import Blueprint

from chom.api import schemas_billing as b
from chom.api.auth import current_actor
from chom.api.limits import api_limit
from chom.api.schemas import envelope
from chom.services import billing

blp = Blueprint("billing", __name__, url_prefix="/api/v1/billing", description="Billing")
api_limit(blp)


def tenant_billing_out(found: billing.TenantBilling) -> dict:
    tenant, plan, usage, standing = found.tenant, found.plan, found.usage, found.standing
    return {"tenant_id": tenant.id, "tenant_name": tenant.name, "plan": plan.name,
            "status": tenant.status, "standing": standing.state, "warning": standing.warning,
            "grace_ends_at": standing.grace_ends_at, "trial_ends_at": tenant.trial_ends_at,
            "subscribed": tenant.stripe_subscription_item_id is not None,
            "usage": {"sites": usage.sites, "max_sites": plan.max_sites,
                      "storage_bytes": usage.storage_bytes,
                      "storage_limit_bytes": plan.storage_bytes}}


@blp.route("/plans", methods=["GET"])
@blp.response(200, envelope(b.PlanOut, "PlanListEnvelope", many=True))
def list_plans():
    """The plans, cheapest first: price per month and limits."""
    return {"data": billing.list_plans(current_actor())}


@blp.route("/usage", methods=["GET"])
@blp.response(200, envelope(b.TenantBillingOut, "TenantBillingEnvelope"))
def tenant_usage():
    """The current tenant's plan, status and usage against its limits, with a warning while
    payment is past due."""
    return {"data": tenant_billing_out(billing.tenant_billing(current_actor()))}


@blp.route("/subscription", methods=["GET"])
@blp.response(200, envelope(b.SubscriptionOut, "SubscriptionEnvelope"))
def subscription():
    """The organization's subscription and each tenant's usage, summed (owner)."""
    found = billing.organization_billing(current_actor())
    row = found.subscription
    return {"data": {
        "status": row.status if row else None,
        "current_period_end": row.current_period_end if row else None,
        "cancel_at_period_end": bool(row and row.cancel_at_period_end),
        "monthly_cents": found.monthly_cents,
        "tenants": [tenant_billing_out(t) for t in found.tenants],
        "totals": {"sites": found.total_sites, "storage_bytes": found.total_storage_bytes},
    }}


@blp.route("/checkout", methods=["POST"])
@blp.arguments(b.CheckoutIn)
@blp.response(200, envelope(b.CheckoutOut, "CheckoutEnvelope"))
def checkout(body):
    """Put the current tenant on a plan (owner): a Checkout page to pay (`action: checkout`)
    or, with a live subscription, the change at once (`action: changed`). A plan smaller
    than the tenant's usage is refused (409, listing what to remove)."""
    result = billing.start_checkout(current_actor(), plan=body["plan"])
    return {"data": {"action": result.action, "url": result.url,
                     "session_id": result.session_id,
                     "tenant": tenant_billing_out(result.tenant)}}


@blp.route("/portal", methods=["POST"])
@blp.response(200, envelope(b.PortalOut, "PortalEnvelope"))
def portal():
    """A link to Stripe's customer portal for the organization (owner)."""
    return {"data": {"url": billing.portal_link(current_actor())}}


@blp.route("/invoices", methods=["GET"])
@blp.arguments(b.InvoiceArgs, location="query")
@blp.response(200, envelope(b.InvoiceOut, "InvoiceListEnvelope", many=True))
def invoices(args):
    """The organization's invoices, newest first (owner)."""
    return {"data": billing.list_invoices(current_actor(), **args)}
