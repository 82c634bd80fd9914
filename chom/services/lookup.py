"""Loading one row by id through the scope (never `session.get`, whose identity-map hit
would skip the scope's criteria)."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import select

from chom.extensions import db
from chom.services.errors import NotFound

T = TypeVar("T")


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
