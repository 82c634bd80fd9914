"""The audit log: every mutating action, appended, never updated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from chom.extensions import db
from chom.models import AuditLog, User
from chom.models.scoping import unscoped
from chom.services.lookup import newest_first_page
from chom.services.tenancy import Actor


def record(actor: Actor, action: str, target=None, **details) -> None:
    """Append an entry for `action` by `actor` (committed with the caller's transaction)."""
    db.session.add(
        AuditLog(
            organization_id=actor.organization_id,
            actor_user_id=actor.user_id,  # the ids, not the rows: no query to load them
            tenant_id=getattr(target, "tenant_id", None) or actor.tenant_id,
            action=action,
            target_type=type(target).__name__.lower() if target is not None else None,
            target_id=str(target.id) if target is not None else None,
            ip=actor.request.ip,
            user_agent=(actor.request.user_agent or "")[:300] or None,
            correlation_id=actor.request.correlation_id,
            details=details,
        )
    )


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditLog]
    total: int
    page: int
    per_page: int


def list_entries(
    actor: Actor,
    *,
    page: int,
    per_page: int,
    action: str | None = None,
    actor_user_id=None,
    tenant_id=None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """The organization's audit entries, newest first (owner and admin)."""
    actor.require("audit:read")
    query = select(AuditLog)
    filters = (
        (action, lambda v: AuditLog.action.startswith(v)),
        (actor_user_id, lambda v: AuditLog.actor_user_id == v),
        (tenant_id, lambda v: AuditLog.tenant_id == v),
        (since, lambda v: AuditLog.created_at >= v),
        (until, lambda v: AuditLog.created_at < v),
    )
    for value, condition in filters:
        if value is not None:
            query = query.where(condition(value))
    items, total = newest_first_page(query, AuditLog, page=page, per_page=per_page)
    return AuditPage(items, total, page, per_page)


def actor_emails(entries: list[AuditLog]) -> dict:
    """The email of each entry's acting user, by user id (for showing a page of entries)."""
    ids = {entry.actor_user_id for entry in entries if entry.actor_user_id is not None}
    if not ids:
        return {}
    with unscoped():  # the entries were read in scope; their users belong to no tenant
        return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())
