"""Reading rows through the scope: one by id (never `session.get`, whose identity-map hit
would skip the scope's criteria), or a page of a list, newest first."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import func, select

from chom.extensions import db
from chom.services.errors import NotFound

T = TypeVar("T")

# Far past any tenant's last page; it keeps row offsets within PostgreSQL's integer.
MAX_PAGE = 100_000


def get_or_not_found(model: type[T], id_value, what: str | None = None) -> T:
    """The row of `model` with this id in the current scope, else `NotFound`."""
    what = what or model.__name__
    try:
        key = id_value if isinstance(id_value, uuid.UUID) else uuid.UUID(str(id_value))
    except ValueError:
        raise NotFound(f"{what} not found.") from None
    row = db.session.scalar(select(model).where(model.id == key))
    if row is None:
        raise NotFound(f"{what} not found.")
    return row


def newest_first_page(query, model, *, page: int, per_page: int) -> tuple[list, int]:
    """One page of `query`'s rows of `model`, newest first (ties by id), and how many rows the
    whole query has; through the scope like every ORM statement."""
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(query.order_by(model.created_at.desc(), model.id)
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total
