"""The audit log: every mutating action, appended, never updated."""

from __future__ import annotations

from chom.extensions import db
from chom.models import AuditLog
from chom.services.tenancy import Actor


def record(actor: Actor, action: str, target=None, **details) -> None:
    """Append an entry for `action` by `actor` (committed with the caller's transaction)."""
    db.session.add(
        AuditLog(
            organization_id=actor.organization_id,
            actor_user_id=actor.user.id,
            tenant_id=getattr(target, "tenant_id", None) or (actor.tenant and actor.tenant.id),
            action=action,
            target_type=type(target).__name__.lower() if target is not None else None,
            target_id=str(target.id) if target is not None else None,
            ip=actor.request.ip,
            user_agent=(actor.request.user_agent or "")[:300] or None,
            correlation_id=actor.request.correlation_id,
            details=details,
        )
    )
