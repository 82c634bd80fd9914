"""Console page for the organization's audit log, with filters (owners and admins)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from flask import abort, render_template, request
from flask_login import login_required

from chom.services import audit, tenants
from chom.services.errors import PermissionDenied
from chom.web.context import console_actor, page_number

PER_PAGE = 50


def _day(value: str, *, end: bool = False) -> datetime | None:
    """A `YYYY-MM-DD` filter as a UTC instant (the day's start; for `end`, the next day's)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=UTC)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@login_required
def audit_log():
    actor = console_actor()
    filters = {key: request.args.get(key, "").strip()
               for key in ("action", "tenant_id", "since", "until")}
    try:
        page = audit.list_entries(
            actor, page=page_number(), per_page=PER_PAGE,
            action=filters["action"][:80] or None,
            tenant_id=_uuid(filters["tenant_id"]),
            since=_day(filters["since"]), until=_day(filters["until"], end=True))
    except PermissionDenied:
        abort(403)
    return render_template("audit.html", actor=actor, page=page, filters=filters,
                           emails=audit.actor_emails(page.items),
                           tenants=tenants.list_tenants(actor),
                           pages=max(1, -(-page.total // PER_PAGE)))


def register(bp) -> None:
    bp.add_url_rule("/audit", view_func=audit_log)
