"""Plans, a tenant's usage against its plan, and its billing standing.

Plans come from `CHOM_PLANS` (limits, price) and `CHOM_STRIPE_PRICES` (the Stripe price of
each). A tenant's plan and status are written by the subscription sync
(`chom.services.billing_sync`); everything here only reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from chom.extensions import db
from chom.models import Backup, Site, Tenant
from chom.models.base import utcnow
from chom.models.scoping import Scope, current_scope, scoped
from chom.services.errors import PaymentRequired, PlanTooSmall, ValidationFailed

GIB = 1024**3

# Stripe's subscription status → the status of each tenant the subscription bills.
TENANT_STATUS_FOR_STRIPE = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "incomplete": "past_due",
    "unpaid": "suspended",
    "paused": "suspended",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
}


@dataclass(frozen=True)
class Plan:
    name: str
    price_cents: int
    max_sites: int | None
    storage_gb: int | None
    dedicated_vps: bool
    stripe_price_id: str

    @property
    def storage_bytes(self) -> int | None:
        return None if self.storage_gb is None else self.storage_gb * GIB


def plans() -> list[Plan]:
    """Every plan, cheapest first."""
    prices = current_app.config["CHOM_STRIPE_PRICES"]
    found = [Plan(name=name, stripe_price_id=prices[name], **limits)
             for name, limits in current_app.config["CHOM_PLANS"].items()]
    return sorted(found, key=lambda p: p.price_cents)


def plan_named(name: str) -> Plan:
    """The plan called `name`; `ValidationFailed` naming the field `plan` otherwise."""
    for plan in plans():
        if plan.name == name:
            return plan
    raise ValidationFailed({"plan": [f"One of: {', '.join(p.name for p in plans())}."]})


def plan_for_price(price_id: str) -> Plan | None:
    return next((p for p in plans() if p.stripe_price_id == price_id), None)


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[None]:
    """Read `tenant`'s rows through the one scoping mechanism (the caller already reaches it:
    it is the actor's tenant, one of its reachable tenants, or system work)."""
    current = current_scope()
    with scoped(Scope(organization_id=tenant.organization_id, tenant_id=tenant.id,
                      reachable_tenant_ids=frozenset({tenant.id}),
                      user_id=current.user_id if current else None)):
        yield


@dataclass(frozen=True)
class Usage:
    sites: int
    storage_bytes: int
    domains: tuple[str, ...]


def usage_of(tenant: Tenant) -> Usage:
    """Live sites (their domains, newest last) and storage used (the sum of backup sizes)."""
    with tenant_scope(tenant):
        domains = tuple(db.session.scalars(
            select(Site.domain).where(Site.deleted_at.is_(None)).order_by(Site.created_at)))
        storage = db.session.scalar(select(func.coalesce(func.sum(Backup.size_bytes), 0)))
    return Usage(sites=len(domains), storage_bytes=int(storage or 0), domains=domains)


def sites_in_use() -> int:
    """Live sites of the tenant in the current scope (used under the tenant's row lock)."""
    return db.session.scalar(select(func.count(Site.id)).where(Site.deleted_at.is_(None))) or 0


def storage_in_use() -> int:
    """Backup bytes of the tenant in the current scope."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Backup.size_bytes), 0))) or 0)


def ensure_fits(tenant: Tenant, plan: Plan) -> None:
    """`PlanTooSmall` (409) when the tenant uses more than `plan` allows, listing what to
    remove: its sites' domains and how many must go, and the storage over the limit."""
    usage = usage_of(tenant)
    extra: dict = {}
    reasons = []
    if plan.max_sites is not None and usage.sites > plan.max_sites:
        remove = usage.sites - plan.max_sites
        extra.update(sites=list(usage.domains), remove_sites=remove)
        reasons.append(f"{usage.sites} sites (remove {remove} of them)")
    limit = plan.storage_bytes
    if limit is not None and usage.storage_bytes > limit:
        extra.update(storage_used_bytes=usage.storage_bytes, storage_limit_bytes=limit,
                     remove_storage_bytes=usage.storage_bytes - limit)
        reasons.append(f"{usage.storage_bytes} bytes of backups "
                       f"(remove {usage.storage_bytes - limit} bytes)")
    if reasons:
        allowed = f"{plan.max_sites} sites and {plan.storage_gb} GB"
        raise PlanTooSmall(f"The {plan.name} plan allows {allowed}; {tenant.name} uses "
                           f"{' and '.join(reasons)}.", plan=plan.name, **extra)


@dataclass(frozen=True)
class Standing:
    """Whether a tenant may run and create sites: `ok`, `grace` (past due, with a warning,
    until `grace_ends_at`) or `blocked` (sites suspended, none created)."""

    state: str
    warning: str | None = None
    grace_ends_at: datetime | None = None


def _trial_over(tenant: Tenant, now: datetime) -> bool:
    # A trial of our own (no Stripe item yet) ends at `trial_ends_at`; Stripe ends its own.
    return (tenant.stripe_subscription_item_id is None and tenant.trial_ends_at is not None
            and tenant.trial_ends_at <= now)


def standing_of(tenant: Tenant, now: datetime | None = None) -> Standing:
    """The tenant's standing from its status (set by the subscription sync) and the clock."""
    now = now or utcnow()
    if tenant.status == "active" or (tenant.status == "trialing"
                                      and not _trial_over(tenant, now)):
        return Standing("ok")
    if tenant.status == "trialing":
        return Standing("blocked", "The trial has ended: subscribe to a plan to keep the sites.")
    if tenant.status == "past_due":
        since = tenant.past_due_since or now
        ends = since + timedelta(days=current_app.config["CHOM_BILLING_GRACE_DAYS"])
        if now < ends:
            return Standing("grace", f"Payment is past due: the sites will be suspended on "
                            f"{ends.isoformat(timespec='minutes')} unless it is paid.", ends)
        return Standing("blocked", "Payment is past due beyond the grace period: the sites are "
                        "suspended until it is paid.", ends)
    return Standing("blocked", f"The subscription is {tenant.status}: the sites are suspended "
                    "until it is paid.")


def require_good_standing(tenant: Tenant) -> None:
    """`PaymentRequired` (402) when the tenant's standing is blocked."""
    standing = standing_of(tenant)
    if standing.state == "blocked":
        raise PaymentRequired(standing.warning or "Payment is required.",
                              subscription_status=tenant.status)
