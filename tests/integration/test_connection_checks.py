"""Pooled connections are checked at checkout (`reliability.database.check_on_checkout`): one the
server ended is replaced before use, a healthy one costs no round trip. On the test PostgreSQL."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy import create_engine, text

from chom.extensions import db
from chom.reliability.database import check_on_checkout


class PingCounter:
    """Counts the dialect's pings of `engine` (the real ping still runs)."""

    def __init__(self, monkeypatch, engine) -> None:
        self.count = 0
        ping = engine.dialect.do_ping

        def counted(dbapi_connection):
            self.count += 1
            return ping(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def test_a_connection_the_server_ended_is_replaced_before_use(clean_app, monkeypatch, register):
    auth = register().headers
    client = clean_app.test_client()
    with clean_app.app_context():
        engine = db.engine
    engine.dispose()  # one pooled connection from here on: the one the requests use
    assert client.get("/api/v1/sites", headers=auth).status_code == 200
    pid = _backend_pid(engine)
    pings = PingCounter(monkeypatch, engine)

    assert client.get("/api/v1/sites", headers=auth).status_code == 200
    assert pings.count == 0  # resting and silent: used without a round trip

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:  # not one of the pool's
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
        for _ in range(100):  # the backend ends (and says so) just after the call returns
            if not other.execute(gone, [pid]).fetchone()[0]:
                break
            time.sleep(0.05)
    # Closed from the server's side: the socket has input (the server's goodbye).
    assert client.get("/api/v1/sites", headers=auth).status_code == 200
    assert pings.count >= 1
    assert _backend_pid(engine) != pid


def test_other_drivers_are_pinged_at_every_checkout(tmp_path, monkeypatch):
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    check_on_checkout(engine)
    pings = PingCounter(monkeypatch, engine)
    for _ in range(3):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings.count == 3
    engine.dispose()
