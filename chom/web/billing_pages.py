"""Console page for billing: the tenant's plan, standing and usage, the organization's tenants
(owner), the plans with a change-plan form, the Stripe portal link and the invoices."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from chom.services import billing
from chom.services.errors import (
    BillingUnavailable,
    ChomError,
    NotFound,
    PermissionDenied,
    PlanTooSmall,
    ValidationFailed,
)
from chom.web.context import console_actor

# What Stripe's return link (`CHOM_BILLING_RETURN_URL?billing=...`) tells the customer.
RETURN_MESSAGES = {
    "success": ("success", "Thank you: the plan applies as soon as Stripe confirms the payment."),
    "canceled": ("error", "Checkout was canceled; nothing changed."),
    "portal": ("success", "Back from the billing portal."),
}


def _actor():
    try:
        return console_actor()
    except NotFound:
        abort(404)


def _page(actor, *, chosen: str | None = None, errors: dict | None = None,
          too_small: PlanTooSmall | None = None, status: int = 200):
    """The billing page; owners also get the organization's view and its invoices."""
    current = billing.tenant_billing(actor)
    organization, invoices, invoices_error = None, [], None
    if actor.may("billing:manage"):
        organization = billing.organization_billing(actor)
        try:
            invoices = billing.list_invoices(actor)
        except BillingUnavailable as error:
            invoices_error = error.detail
    returned = RETURN_MESSAGES.get(request.args.get("billing", ""))
    return render_template(
        "billing.html", actor=actor, current=current, plans=billing.list_plans(actor),
        organization=organization, invoices=invoices, invoices_error=invoices_error,
        chosen=chosen or current.plan.name, errors=errors or {}, too_small=too_small,
        returned=returned), status


@login_required
def billing_page():
    return _page(_actor())


def _to_stripe(url: str, what: str):
    """Stripe's page, opened from ours: the CSP's `form-action 'self'` forbids a form's POST
    from being redirected to another origin, so the answer is a page that goes there itself."""
    return render_template("billing_redirect.html", url=url, what=what)


@login_required
def change_plan():
    """Start a checkout (no live subscription) or change the tenant's item at once."""
    actor = _actor()
    plan = request.form.get("plan", "")
    try:
        result = billing.start_checkout(actor, plan=plan)
    except PermissionDenied:
        abort(403)
    except ValidationFailed as error:
        return _page(actor, chosen=plan, errors=error.errors, status=422)
    except PlanTooSmall as error:
        return _page(actor, chosen=plan, too_small=error, status=409)
    except ChomError as error:
        flash(error.detail, "error")
        return redirect(url_for("web.billing", tenant=actor.tenant_id))
    if result.action == "checkout":
        return _to_stripe(result.url, "Stripe Checkout")
    flash(f"{result.tenant.tenant.name} is now on the {result.tenant.plan.name} plan.",
          "success")
    return redirect(url_for("web.billing", tenant=actor.tenant_id))


@login_required
def open_portal():
    """Stripe's customer portal: payment methods, invoices, cancellation (owner)."""
    actor = _actor()
    try:
        url = billing.portal_link(actor)
    except PermissionDenied:
        abort(403)
    except ChomError as error:
        flash(error.detail, "error")
        return redirect(url_for("web.billing", tenant=actor.tenant_id))
    return _to_stripe(url, "the billing portal")


def register(bp) -> None:
    bp.add_url_rule("/billing", endpoint="billing", view_func=billing_page)
    bp.add_url_rule("/billing/plan", view_func=change_plan, methods=["POST"])
    bp.add_url_rule("/billing/portal", view_func=open_portal, methods=["POST"])
