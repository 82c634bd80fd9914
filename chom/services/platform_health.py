"""The platform's health as one report: the core checks (database, Redis, queue) and each
observability backend with its circuit breaker's state."""

from __future__ import annotations

from chom.services.errors import PermissionDenied
from chom.services.health import check_health
from chom.services.observability import observability_health
from chom.services.tenancy import Actor


def may_see_health(user, actor: Actor | None) -> bool:
    """Platform operators, and organization members whose role has `health:read` (admins and
    owners)."""
    return bool(getattr(user, "is_operator", False)) or (
        actor is not None and actor.may("health:read"))


def platform_health(user, actor: Actor | None) -> dict:
    """`{"core": check_health(), "observability": observability_health()}`; `PermissionDenied`
    for anyone else than `may_see_health` allows."""
    if not may_see_health(user, actor):
        raise PermissionDenied("The platform's health is for operators, admins and owners.")
    return {"core": check_health(), "observability": observability_health()}
