"""Committing rows that are answered with at once, without reloading them."""

from __future__ import annotations

from chom.extensions import db


def commit_keeping(*rows) -> None:
    """Commit, keeping `rows` as they are in memory; every other object of the session is
    expired as a commit always does.

    For rows this transaction has just written and the caller answers with right away: what
    memory holds is what was committed, so reloading each one after the commit (SQLAlchemy's
    default) would cost a query and return the same values."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    kept = {id(row) for row in rows}
    for row in list(session.identity_map.values()):
        if id(row) not in kept:
            session.expire(row)
