"""Subscription → tenant state: Stripe's subscription object decides each tenant's plan and
status, and the standing that follows suspends or resumes the tenant's sites.

State is always taken from the subscription as Stripe holds it now (fetched, never from the
order events arrive in), so applying it twice, or an older event after a newer one, converges.
Everything here is system work: it runs unscoped, from jobs or after an owner's plan change.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import select, update

from chom.extensions import db
from chom.integration.queue import current_queue
from chom.integration.stripe_gateway import current_gateway
from chom.models import Organization, Site, Subscription, Tenant, WebhookEvent
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services import audit, notifications
from chom.services.billing_plans import (
    TENANT_STATUS_FOR_STRIPE,
    plan_for_price,
    standing_of,
    tenant_scope,
)
from chom.services.site_operations import request_operation
from chom.services.tenancy import RequestInfo

log = logging.getLogger(__name__)

TENANT_METADATA_KEY = "chom_tenant"
ORGANIZATION_METADATA_KEY = "chom_organization"
ENDED = ("canceled", "incomplete_expired")


@dataclass(frozen=True)
class BillingSystem:
    """The actor for what billing does by itself (suspend, resume): no user, audited as such."""

    organization_id: uuid.UUID
    tenant: Tenant
    request: RequestInfo = field(default_factory=RequestInfo)
    user: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(id=None))
    user_id: None = None

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id

    def require(self, permission: str) -> None:
        """Billing's own actions are decided by the subscription, not by a role."""


def subscription_lock(subscription_id: str):
    """Held from fetching a subscription until it is applied: two jobs (or a job and an
    owner's plan change) cannot apply an older fetch over a newer one."""
    return current_queue().lock(f"billing:subscription:{subscription_id}", ttl=60, wait=30)


def sync_from_stripe(subscription_id: str, *, correlation_id: str | None = None) -> list[Tenant]:
    """Fetch the subscription from Stripe and apply it (see `apply_subscription`)."""
    with subscription_lock(subscription_id):
        return apply_subscription(current_gateway().retrieve_subscription(subscription_id),
                                  correlation_id=correlation_id)


def _period_end(subscription: dict) -> datetime | None:
    ends = [item.get("current_period_end") for item in subscription["items"]["data"]]
    ends = [e for e in [*ends, subscription.get("current_period_end")] if e]
    return datetime.fromtimestamp(max(ends), UTC) if ends else None


def _item_for(tenant: Tenant, subscription: dict) -> dict | None:
    """The subscription's item billing `tenant`: labelled with its id, or the item it already
    holds, or (Checkout cannot label its line item) the one item of a subscription whose own
    metadata names the tenant."""
    items = subscription["items"]["data"]
    tenant_ref = str(tenant.id)
    for item in items:
        if (item.get("metadata") or {}).get(TENANT_METADATA_KEY) == tenant_ref:
            return item
    for item in items:
        if item["id"] == tenant.stripe_subscription_item_id:
            return item
    named = (subscription.get("metadata") or {}).get(TENANT_METADATA_KEY)
    if named == tenant_ref and len(items) == 1:
        return items[0]
    return None


def _set_status(tenant: Tenant, status: str) -> None:
    if status == "past_due":
        if tenant.past_due_since is None:
            notifications.notify(tenant.organization_id, "payment.failed", {
                "tenant": tenant.name, "plan": tenant.plan,
                "grace_days": current_app.config["CHOM_BILLING_GRACE_DAYS"]},
                tenant_id=tenant.id)
        tenant.past_due_since = tenant.past_due_since or utcnow()
    else:
        tenant.past_due_since = None
    tenant.status = status


def apply_subscription(subscription: dict, *, correlation_id: str | None = None
                       ) -> list[Tenant]:
    """Write `subscription` (a Stripe subscription object) to its organization's
    Subscription row and to each tenant it bills (plan from the item's price, status from the
    subscription's), then suspend or resume sites as each tenant's standing now requires.
    A subscription of no known customer changes nothing. Returns the tenants it touched."""
    with unscoped():
        organization = db.session.scalar(select(Organization).where(
            Organization.stripe_customer_id == subscription["customer"]).with_for_update())
        if organization is None:
            log.warning("subscription %s is for customer %s, not ours", subscription["id"],
                        subscription["customer"])
            return []
        row = db.session.scalar(select(Subscription).where(
            Subscription.organization_id == organization.id))
        if row is None:
            row = Subscription(organization_id=organization.id)
            db.session.add(row)
        if (row.stripe_subscription_id not in (None, subscription["id"])
                and subscription["status"] in ENDED):
            log.info("ignoring ended subscription %s: %s is current", subscription["id"],
                     row.stripe_subscription_id)
            db.session.rollback()
            return []
        row.stripe_subscription_id = subscription["id"]
        row.status = subscription["status"]
        row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
        row.current_period_end = _period_end(subscription)
        status = TENANT_STATUS_FOR_STRIPE.get(subscription["status"], "suspended")
        touched = []
        for tenant in organization.tenants:
            item = _item_for(tenant, subscription)
            if item is not None:
                plan = plan_for_price(item["price"]["id"])
                if plan is None:
                    log.error("subscription item %s has unknown price %s", item["id"],
                              item["price"]["id"])
                else:
                    tenant.plan = plan.name
                tenant.stripe_subscription_item_id = item["id"]
                _set_status(tenant, status)
                touched.append(tenant)
            elif tenant.stripe_subscription_item_id is not None:
                # Its item left the subscription: nothing bills this tenant any more.
                tenant.stripe_subscription_item_id = None
                _set_status(tenant, "canceled")
                touched.append(tenant)
        db.session.commit()
        for tenant in touched:
            apply_standing(tenant, correlation_id=correlation_id)
        return touched


def _flip_suspension(tenant_id: uuid.UUID) -> tuple[str, list[str]] | None:
    """Under the tenant's row lock, compare its standing with its suspension and record the
    change: (`suspend` or `resume`, the ids of the sites to act on), or None when nothing is
    to change (or another job already changed it)."""
    db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(updated_at=utcnow()))
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    db.session.refresh(tenant)
    blocked = standing_of(tenant).state == "blocked"
    already = list(tenant.billing_suspended_sites or [])
    if blocked:
        # Also the sites that finished provisioning after the tenant was suspended.
        with tenant_scope(tenant):
            ids = [str(i) for i in db.session.scalars(
                select(Site.id).where(Site.status == "active", Site.deleted_at.is_(None)))
                if str(i) not in already]
        if tenant.billing_suspended_at is not None and not ids:
            db.session.rollback()
            return None
        tenant.billing_suspended_at = tenant.billing_suspended_at or utcnow()
        tenant.billing_suspended_sites = already + ids
    elif tenant.billing_suspended_at is None:
        db.session.rollback()
        return None
    else:
        ids = list(tenant.billing_suspended_sites or [])
        tenant.billing_suspended_at = None
        tenant.billing_suspended_sites = []
    db.session.commit()
    return ("suspend" if blocked else "resume"), ids


# What each change is audited as, and the site status its operation starts from.
SUSPENSION_CHANGES = {
    "suspend": ("billing.sites_suspended", "active"),
    "resume": ("billing.sites_resumed", "suspended"),
}


def apply_standing(tenant: Tenant, *, correlation_id: str | None = None) -> None:
    """Suspend the tenant's active sites when its standing is blocked, and resume the ones
    billing suspended once it is not; each through the site's suspend/resume operation."""
    with unscoped():
        change = _flip_suspension(tenant.id)
        if change is None:
            return
        action, site_ids = change
        audited, from_status = SUSPENSION_CHANGES[action]
        actor = BillingSystem(organization_id=tenant.organization_id, tenant=tenant,
                              request=RequestInfo(correlation_id=correlation_id))
        audit.record(actor, audited, tenant, status=tenant.status, sites=site_ids)
        db.session.commit()
        for site_id in site_ids:
            site = db.session.scalar(select(Site).where(Site.id == uuid.UUID(site_id)))
            if site is not None and site.status == from_status:
                request_operation(actor, site.id, action)


def enforce_standing() -> int:
    """Apply every tenant's standing as the clock now has it (past-due grace periods and our
    own trials end with no event from Stripe); returns how many tenants changed. Run it
    periodically (`flask chom billing enforce`)."""
    with unscoped():
        tenants = list(db.session.scalars(select(Tenant).where(
            Tenant.status.in_(("past_due", "trialing", "canceled", "suspended"))
            | Tenant.billing_suspended_at.is_not(None))))
        changed = 0
        for tenant in tenants:
            before = tenant.billing_suspended_at
            apply_standing(tenant)
            db.session.refresh(tenant)
            changed += before != tenant.billing_suspended_at
        return changed


def handle_event(event_id: str, subscription_id: str) -> None:
    """The webhook job: sync the subscription the event is about, then mark the event done."""
    sync_from_stripe(subscription_id, correlation_id=event_id)
    with unscoped():
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id)
                           .values(processed_at=utcnow()))
        db.session.commit()
