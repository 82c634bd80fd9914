"""PostgreSQL restarted under a running app: requests fail cleanly (503), then recover.

The test runs a PostgreSQL cluster of its own (initdb into a temporary folder, its own port),
so stopping it disturbs nobody else's tests.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import flask_migrate
import pytest

from chom import create_app
from chom.extensions import db
from tests.conftest import PASSWORD, base_config

# The newest installed server's programs (Debian: /usr/lib/postgresql/<major>/bin).
BIN = max(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name)) / "bin"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    def __init__(self) -> None:
        # Under /var/tmp: pytest's own folders are closed to the `postgres` user.
        self.dir = Path(tempfile.mkdtemp(prefix="chom-pg-", dir="/var/tmp"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data, self.port = self.dir / "data", _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres([BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres"])

    def _as_postgres(self, argv) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, argv)], check=True,
                       capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres([BIN / "pg_ctl", "-D", self.data, "-o", options, "-w",
                           "-l", self.dir / "log", "start"])

    def stop(self) -> None:
        self._as_postgres([BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def remove(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D",
                        str(self.data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    server.remove()


def test_requests_answer_503_while_postgres_is_down_and_recover_without_a_restart(
        private_postgres, tmp_path):
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=private_postgres.url,
                                 CHOM_BREAKER_DB_RESET_SECONDS=2))
    breaker = app.extensions["chom_breakers"]["database"]
    with app.app_context():
        flask_migrate.upgrade()
    client = app.test_client()
    registered = client.post("/api/v1/auth/register", json={
        "organization": "Outage Co", "name": "O", "email": "o@outage.test",
        "password": PASSWORD})
    assert registered.status_code == 201
    auth = {"Authorization": f"Bearer {registered.json['data']['token']}"}
    assert client.get("/api/v1/sites", headers=auth).status_code == 200

    private_postgres.stop()
    for path in ("/api/v1/sites", "/api/v1/auth/me"):
        down = client.get(path, headers=auth)
        assert down.status_code == 503, down.data
        assert down.mimetype == "application/problem+json"
        assert down.json["type"].endswith("/unavailable")
        assert "database" in down.json["detail"] and "Traceback" not in down.get_data(True)
        assert down.headers["Retry-After"] == "5"
    health = client.get("/api/v1/health")
    assert health.json["status"] == "down"
    assert health.json["checks"]["database"]["status"] == "down"
    # Five failed connection attempts in a row open the database's circuit: requests then
    # fail at once, without trying to connect, until its reset timeout has passed.
    while breaker.current_state != "open":
        assert client.get("/api/v1/sites", headers=auth).status_code == 503
        assert breaker.fail_counter <= 5
    failures = breaker.fail_counter
    fast = client.get("/api/v1/sites", headers=auth)
    assert fast.status_code == 503 and fast.json["type"].endswith("/unavailable")
    assert breaker.fail_counter == failures == 5  # no attempt was made
    metrics = client.get("/prometheus/metrics").get_data(True)
    assert 'chom_circuit_breaker_state{name="database",service="database"} 2.0' in metrics

    private_postgres.start()
    time.sleep(2)  # the reset timeout: the next request is let through (half-open)
    deadline = time.monotonic() + 10
    while (up := client.get("/api/v1/sites", headers=auth)).status_code != 200:
        assert time.monotonic() < deadline, up.json  # the checkout check replaces dead connections
        time.sleep(0.2)
    assert client.get("/api/v1/auth/me", headers=auth).json["data"]["user"]["email"] == \
        "o@outage.test"
    assert client.get("/api/v1/health").json["checks"]["database"]["status"] == "ok"
    assert breaker.current_state == "closed"
    with app.app_context():
        db.engine.dispose()
