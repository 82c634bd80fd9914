"""Reads run in autocommit and a transaction begins at its first statement that may write
(`chom.models.transactions`): no BEGIN or COMMIT for a request that only reads, psycopg keeps
its prepared statements, and writes stay atomic. On the test PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.exc import DataError

from chom.extensions import db
from chom.models import Organization
from chom.models.base import utcnow
from chom.models.transactions import begin_at_first_write, only_reads

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


def _status(conn) -> TransactionStatus:
    return conn.connection.dbapi_connection.info.transaction_status


def _probe_after_rollbacks(engine) -> list[str]:
    with engine.connect() as conn:
        for _ in range(RUNS_TO_PREPARE):
            conn.execute(PROBE).all()
            conn.rollback()
        return _prepared_statements(conn)


@pytest.mark.parametrize(("statement", "reads"), [
    ("SELECT 1", True),
    ("  select id FROM sites WHERE domain = %(d)s", True),
    ("SELECT id FROM sites FOR UPDATE", False),
    ("SELECT id FROM vps_servers ORDER BY id\nFOR NO KEY UPDATE SKIP LOCKED", False),
    ("SELECT id FROM tenants FOR SHARE", False),
    ("SELECT id FROM tenants for key share", False),
    ("SELECT for_update_count FROM t", True),
    ("WITH made AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM made", False),
    ("INSERT INTO t VALUES (1)", False),
    ("UPDATE t SET n = 1", False),
    ("SAVEPOINT sa_savepoint_1", False),
])
def test_only_plain_selects_count_as_reads(statement, reads):
    assert only_reads(statement) is reads


def test_reads_begin_no_transaction_and_writes_do(clean_app):
    with clean_app.app_context(), db.engine.connect() as conn:
        conn.execute(PROBE).all()
        conn.execute(text("SELECT count(*) FROM tenants")).scalar()
        assert _status(conn) == TransactionStatus.IDLE  # autocommit: nothing left open
        conn.execute(select(Organization.id).with_for_update()).all()
        assert _status(conn) == TransactionStatus.INTRANS  # a lock needs a transaction
        conn.rollback()
    with clean_app.app_context(), db.engine.connect() as conn:
        assert _status(conn) == TransactionStatus.IDLE
        conn.execute(insert(Organization.__table__), [_organization("begun")])
        assert _status(conn) == TransactionStatus.INTRANS
        conn.rollback()
    with clean_app.app_context():
        assert _organizations_named("begun") == 0


def test_a_request_that_only_reads_sends_no_begin_or_commit(client, register):
    auth = register().headers
    assert client.get("/api/v1/sites", headers=auth).status_code == 200  # token's last use noted
    sent: list[tuple[str, TransactionStatus]] = []

    def spy(conn, cursor, statement, *args):
        # After each statement: IDLE means it ran with no transaction open, so no BEGIN was
        # sent before it (and there is none to COMMIT).
        sent.append((statement, _status(conn)))

    with client.application.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", spy)
    try:
        assert client.get("/api/v1/sites", headers=auth).status_code == 200
    finally:
        event.remove(engine, "after_cursor_execute", spy)
    assert sent and all(only_reads(statement) and status == TransactionStatus.IDLE
                        for statement, status in sent), sent
    with client.application.app_context(), db.engine.connect() as conn:
        # The pooled connection the request used rests in autocommit, and idle.
        assert conn.connection.dbapi_connection.autocommit
        assert _status(conn) == TransactionStatus.IDLE


def test_read_only_work_keeps_its_prepared_statements(clean_app):
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


def test_writes_after_reads_are_one_transaction(clean_app):
    with clean_app.app_context():
        with db.engine.connect() as conn:
            conn.execute(PROBE).all()
            conn.execute(insert(Organization.__table__), [_organization("core write")])
            conn.execute(PROBE).all()
            conn.execute(insert(Organization.__table__), [_organization("core write")])
            conn.rollback()
        db.session.add(Organization(name="orm write"))
        db.session.flush()
        db.session.rollback()
        assert _organizations_named("core write") == 0
        assert _organizations_named("orm write") == 0


def test_a_savepoint_begins_the_transaction_it_needs(clean_app):
    with clean_app.app_context():
        db.session.scalars(PROBE).all()
        with db.session.begin_nested():
            db.session.add(Organization(name="nested"))
        db.session.rollback()
        assert _organizations_named("nested") == 0


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


def test_a_failed_read_leaves_the_connection_usable(clean_app):
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


def test_an_explicit_autocommit_is_left_as_asked(clean_app):
    with clean_app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(insert(Organization.__table__), [_organization("autocommitted")])
            assert _status(conn) == TransactionStatus.IDLE
            conn.rollback()  # nothing to undo: the insert committed on its own
        assert _organizations_named("autocommitted") == 1


def test_other_drivers_are_left_alone(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    begin_at_first_write(engine)
    assert not engine.dispatch.before_cursor_execute and not engine.pool.dispatch.checkin
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        conn.commit()
        conn.exec_driver_sql("SELECT count(*) FROM t")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.rollback()
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    engine.dispose()
