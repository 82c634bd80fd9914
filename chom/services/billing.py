"""Billing for people: plans, usage, subscribing or changing a tenant's plan (Stripe Checkout
or a change of the organization's one subscription), the customer portal, invoices.

The organization holds the Stripe customer and ONE subscription; each tenant is billed by one
item of it (item metadata `chom_tenant` = the tenant's id). Callable from the API and the
console alike; raises `chom.services.errors` exceptions only.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from chom.extensions import db
from chom.integration.queue import LockBusy
from chom.integration.stripe_gateway import StripeFailed, current_gateway
from chom.models import Organization, Subscription, Tenant
from chom.services import audit, billing_sync
from chom.services.billing_plans import (
    Plan,
    Standing,
    Usage,
    ensure_fits,
    plan_named,
    plans,
    standing_of,
    usage_of,
)
from chom.services.errors import BillingUnavailable, Conflict
from chom.services.lookup import get_or_not_found
from chom.services.tenancy import Actor

MAX_INVOICES = 100


@contextmanager
def _stripe():
    try:
        yield current_gateway()
    except StripeFailed as error:
        db.session.rollback()
        raise BillingUnavailable(str(error)) from error
    except LockBusy as error:
        db.session.rollback()
        raise BillingUnavailable("The subscription is being updated; try again.") from error


def list_plans(actor: Actor) -> list[Plan]:
    """Every plan with its limits and price, cheapest first."""
    actor.require("tenants:read")
    return plans()


@dataclass(frozen=True)
class TenantBilling:
    tenant: Tenant
    plan: Plan
    usage: Usage
    standing: Standing


def _tenant_billing(tenant: Tenant) -> TenantBilling:
    return TenantBilling(tenant, plan_named(tenant.plan), usage_of(tenant), standing_of(tenant))


def tenant_billing(actor: Actor) -> TenantBilling:
    """The actor's tenant: its plan, status, usage against the plan, and any warning."""
    actor.require("tenants:read")
    return _tenant_billing(actor.require_tenant())


def _is_live(subscription: Subscription | None) -> bool:
    """Whether the organization has a subscription a plan change can modify at once."""
    return (subscription is not None and subscription.stripe_subscription_id is not None
            and subscription.status not in billing_sync.ENDED)


@dataclass(frozen=True)
class OrganizationBilling:
    subscription: Subscription | None
    tenants: list[TenantBilling]

    @property
    def live(self) -> bool:
        """A plan change modifies the subscription at once (else it starts a checkout)."""
        return _is_live(self.subscription)

    @property
    def total_sites(self) -> int:
        return sum(t.usage.sites for t in self.tenants)

    @property
    def total_storage_bytes(self) -> int:
        return sum(t.usage.storage_bytes for t in self.tenants)

    @property
    def monthly_cents(self) -> int:
        return sum(t.plan.price_cents for t in self.tenants
                   if t.tenant.stripe_subscription_item_id is not None)


def organization_billing(actor: Actor) -> OrganizationBilling:
    """The organization's subscription and every tenant's usage, summed (owner)."""
    actor.require("billing:manage")
    subscription = db.session.scalar(select(Subscription))
    return OrganizationBilling(subscription,
                               [_tenant_billing(t) for t in actor.reachable_tenants])


def _organization_locked(actor: Actor) -> Organization:
    organization = db.session.scalar(select(Organization).with_for_update())
    if organization is None:
        raise Conflict("The organization is gone.")
    return organization


def _ensure_customer(actor: Actor, gateway) -> str:
    """The organization's Stripe customer id, created on first use (under the row lock)."""
    organization = _organization_locked(actor)
    if organization.stripe_customer_id is None:
        customer = gateway.create_customer(
            name=organization.name, email=actor.user.email,
            metadata={billing_sync.ORGANIZATION_METADATA_KEY: str(organization.id)})
        organization.stripe_customer_id = customer["id"]
        audit.record(actor, "billing.customer_created", organization, customer=customer["id"])
    db.session.commit()
    return organization.stripe_customer_id


@dataclass(frozen=True)
class CheckoutResult:
    """`checkout`: send the customer to `url` to pay; `changed`: the subscription already
    bills the tenant on the new plan."""

    action: str
    tenant: TenantBilling
    url: str | None = None
    session_id: str | None = None


def _return_url(outcome: str) -> str:
    base = current_app.config["CHOM_BILLING_RETURN_URL"]
    return f"{base}{'&' if '?' in base else '?'}billing={outcome}"


def start_checkout(actor: Actor, *, plan: str) -> CheckoutResult:
    """Put the actor's tenant on `plan` (owner). With a live subscription, its item for the
    tenant is changed (or added) at once, prorated; otherwise a Checkout session starts one.
    Raises `ValidationFailed` (unknown plan), `PlanTooSmall` (409, listing what to remove),
    `Conflict` (already on it), `BillingUnavailable`."""
    actor.require("billing:manage")
    tenant = actor.require_tenant()
    chosen = plan_named(plan)
    subscription = db.session.scalar(select(Subscription))
    live = _is_live(subscription)
    if live and tenant.stripe_subscription_item_id and tenant.plan == chosen.name:
        raise Conflict(f"{tenant.name} is already on the {chosen.name} plan.")
    ensure_fits(tenant, chosen)
    with _stripe() as gateway:
        if live:
            item = ({"id": tenant.stripe_subscription_item_id, "price": chosen.stripe_price_id}
                    if tenant.stripe_subscription_item_id else
                    {"price": chosen.stripe_price_id, "quantity": 1,
                     "metadata": {billing_sync.TENANT_METADATA_KEY: str(tenant.id)}})
            with billing_sync.subscription_lock(subscription.stripe_subscription_id):
                changed = gateway.modify_subscription(subscription.stripe_subscription_id,
                                                      items=[item])
                audit.record(actor, "billing.plan_changed", tenant, old=tenant.plan,
                             new=chosen.name)
                db.session.commit()
                billing_sync.apply_subscription(changed,
                                                correlation_id=actor.request.correlation_id)
            db.session.refresh(tenant)
            return CheckoutResult("changed", _tenant_billing(tenant))
        customer = _ensure_customer(actor, gateway)
        refs = {billing_sync.ORGANIZATION_METADATA_KEY: str(actor.organization_id),
                billing_sync.TENANT_METADATA_KEY: str(tenant.id)}
        session = gateway.create_checkout_session(
            customer=customer, price=chosen.stripe_price_id,
            success_url=_return_url("success"), cancel_url=_return_url("canceled"),
            metadata={**refs, "plan": chosen.name}, subscription_metadata=refs)
    audit.record(actor, "billing.checkout_started", tenant, plan=chosen.name,
                 session=session["id"])
    db.session.commit()
    return CheckoutResult("checkout", _tenant_billing(tenant), session["url"], session["id"])


def release_tenant(actor: Actor, tenant: Tenant) -> None:
    """Stop billing `tenant` before it is deleted: its item leaves the subscription (the
    subscription is canceled when that item was its last). `BillingUnavailable` when Stripe
    refuses, and then the tenant must not be deleted."""
    if tenant.stripe_subscription_item_id is None:
        return
    subscription = db.session.scalar(select(Subscription))
    if subscription is None or subscription.stripe_subscription_id is None:
        return
    with _stripe() as gateway, billing_sync.subscription_lock(
            subscription.stripe_subscription_id):
        current = gateway.retrieve_subscription(subscription.stripe_subscription_id)
        items = [i["id"] for i in current["items"]["data"]]
        if items == [tenant.stripe_subscription_item_id]:
            gateway.cancel_subscription(current["id"])
        elif tenant.stripe_subscription_item_id in items:
            gateway.modify_subscription(current["id"], items=[
                {"id": tenant.stripe_subscription_item_id, "deleted": True}])
    audit.record(actor, "billing.tenant_released", tenant,
                 item=tenant.stripe_subscription_item_id)
    tenant.stripe_subscription_item_id = None


def portal_link(actor: Actor) -> str:
    """A Stripe customer portal link for the organization (owner): payment methods,
    invoices, cancellation."""
    actor.require("billing:manage")
    with _stripe() as gateway:
        customer = _ensure_customer(actor, gateway)
        portal = gateway.create_portal_session(customer=customer,
                                               return_url=_return_url("portal"))
    audit.record(actor, "billing.portal_opened", None, session=portal["id"])
    db.session.commit()
    return portal["url"]


@dataclass(frozen=True)
class Invoice:
    id: str
    number: str | None
    status: str | None
    currency: str
    amount_due: int
    amount_paid: int
    created: datetime
    period_start: datetime | None
    period_end: datetime | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None


def _when(value) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def list_invoices(actor: Actor, *, limit: int = 24) -> list[Invoice]:
    """The organization's invoices from Stripe, newest first (owner); none before the first
    checkout."""
    actor.require("billing:manage")
    organization = get_or_not_found(Organization, actor.organization_id, "Organization")
    if organization.stripe_customer_id is None:
        return []
    with _stripe() as gateway:
        found = gateway.list_invoices(customer=organization.stripe_customer_id,
                                      limit=min(limit, MAX_INVOICES))
    return [Invoice(id=i["id"], number=i.get("number"), status=i.get("status"),
                    currency=i.get("currency", "usd"), amount_due=i.get("amount_due", 0),
                    amount_paid=i.get("amount_paid", 0), created=_when(i["created"]),
                    period_start=_when(i.get("period_start")),
                    period_end=_when(i.get("period_end")),
                    hosted_invoice_url=i.get("hosted_invoice_url"),
                    invoice_pdf=i.get("invoice_pdf")) for i in found]
