"""Read-only transactions end with COMMIT (psycopg keeps its prepared statements); any other
transaction is rolled back as before. On the test PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.exc import DataError

from chom.extensions import db
from chom.models import Organization
from chom.models.base import utcnow
from chom.models.transactions import end_reads_with_commit

# psycopg prepares a statement on its sixth run on a connection.
RUNS_TO_PREPARE = 6
PROBE = select(Organization.id).where(Organization.name == "probe")


def _prepared_statements(conn) -> list[str]:
    return list(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars())


def _organization(name: str) -> dict:
    now = utcnow()
    return {"id": uuid.uuid4(), "name": name, "require_two_factor": False,
            "created_at": now, "updated_at": now}


def _organizations_named(name: str) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).where(Organization.name == name))


def _probe_after_rollbacks(engine) -> list[str]:
    with engine.connect() as conn:
        for _ in range(RUNS_TO_PREPARE):
            conn.execute(PROBE).all()
            conn.rollback()
        return _prepared_statements(conn)


def test_read_only_transactions_keep_their_prepared_statements(clean_app):
    with clean_app.app_context():
        kept = _probe_after_rollbacks(db.engine)
        # The same engine without the listeners: psycopg forgets them at every rollback.
        plain = create_engine(db.engine.url)
        try:
            forgotten = _probe_after_rollbacks(plain)
        finally:
            plain.dispose()
    assert [s for s in kept if "organizations.name" in s], kept
    assert not [s for s in forgotten if "organizations.name" in s], forgotten


def test_a_transaction_that_wrote_is_rolled_back(clean_app):
    with clean_app.app_context():
        with db.engine.connect() as conn:
            conn.execute(PROBE).all()
            conn.execute(insert(Organization.__table__), [_organization("core write")])
            conn.rollback()
        db.session.add(Organization(name="orm write"))
        db.session.flush()
        db.session.rollback()
        assert _organizations_named("core write") == 0
        assert _organizations_named("orm write") == 0


def test_a_write_inside_a_with_statement_is_rolled_back(clean_app):
    row = _organization("cte write")
    with clean_app.app_context():
        with db.engine.connect() as conn:
            conn.execute(
                text("WITH made AS (INSERT INTO organizations (id, name, require_two_factor, "
                     "created_at, updated_at) VALUES (:id, :name, :require_two_factor, "
                     ":created_at, :updated_at) RETURNING id) SELECT id FROM made"),
                row,
            ).all()
            conn.rollback()
        assert _organizations_named("cte write") == 0


def test_a_failed_read_is_rolled_back_and_the_connection_goes_on(clean_app):
    with clean_app.app_context(), db.engine.connect() as conn:
        with pytest.raises(DataError):
            conn.execute(text("SELECT 1 / 0"))
        conn.rollback()
        assert conn.execute(text("SELECT 2")).scalar() == 2


def test_a_committed_write_after_reads_is_kept(clean_app):
    with clean_app.app_context():
        with db.engine.connect() as conn:
            conn.execute(PROBE).all()
            conn.execute(insert(Organization.__table__), [_organization("kept")])
            conn.commit()
        assert _organizations_named("kept") == 1


def test_other_drivers_are_left_alone(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    end_reads_with_commit(engine)
    assert not engine.dispatch.rollback and not engine.dispatch.before_cursor_execute
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        conn.commit()
        conn.exec_driver_sql("SELECT count(*) FROM t")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.rollback()
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    engine.dispose()
