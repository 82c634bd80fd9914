"""Doing something once per key, across every process: the key is recorded as a handled
incoming event (`WebhookEvent`, whose primary key makes a second insert fail)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from chom.extensions import db
from chom.models import WebhookEvent
from chom.models.scoping import unscoped


def first_time(key: str, kind: str) -> bool:
    """Record `key` (committed); False when it was recorded before."""
    with unscoped():
        try:
            with db.session.begin_nested():
                db.session.add(WebhookEvent(id=key[:100], type=kind[:100]))
        except IntegrityError:
            return False
        db.session.commit()
    return True
