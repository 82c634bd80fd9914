"""Shared fixtures: one app per session on a fresh PostgreSQL database built by the migrations.

`CHOM_TEST_DATABASE_URL` names the database (dropped and re-created each session), so several
checkouts can test side by side.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chom import create_app
from chom.extensions import db
from chom.services import operators
from tests.fakes.stripe_server import StripeServer

TEST_DATABASE_URL = os.environ.get(
    "CHOM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/chom_test"
)
TEST_REDIS_URL = os.environ.get("CHOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
# The real SMTP server (aiosmtpd) and the `mailbox` fixture, for every test that reads mail.
pytest_plugins = ["tests.mail", "tests.fuzzing"]

PASSWORD = "correct horse battery staple"
# One key for every app of a test run, as for every process of one deployment.
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


def recreate_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def base_config(tmp_path: Path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret",
        "CHOM_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL,
        "CHOM_JOB_MODE": "thread",
        "CHOM_PASSWORD_HASH_PROFILE": "CHEAPEST",
        "CHOM_RATE_LIMIT_AUTH": "100000/minute",
        "CHOM_RATE_LIMIT_API": "100000/minute",
        "CHOM_RATE_LIMIT_SENSITIVE": "100000/minute",
        "CHOM_RATE_LIMIT_LOGIN_ACCOUNT": "100000/minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        "CHOM_LOCAL_VPS_ROOT": str(tmp_path / "local-vps"),
        "WTF_CSRF_ENABLED": False,
        # Webhook receivers in tests listen on loopback.
        "CHOM_WEBHOOK_ALLOW_PRIVATE": True,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def stripe_server():
    """The fake Stripe API (tests/fakes/stripe_server.py), once per test session."""
    server = StripeServer().start()
    yield server
    server.stop()


def stripe_config(server: StripeServer) -> dict:
    """Settings that point the app's stripe library at the fake."""
    return {"STRIPE_SECRET_KEY": server.fake.api_key, "STRIPE_API_BASE": server.url,
            "STRIPE_WEBHOOK_SECRET": server.fake.webhook_secret}


@pytest.fixture(scope="session")
def app(tmp_path_factory, stripe_server):
    recreate_postgres_database(TEST_DATABASE_URL)
    app = create_app(base_config(tmp_path_factory.mktemp("chom"), **stripe_config(stripe_server)))
    with app.app_context():
        flask_migrate.upgrade()  # the schema comes from the migrations, as in production
    yield app
    with app.app_context():
        db.engine.dispose()


def truncate_all(app) -> None:
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} CASCADE"))
        db.session.commit()


@pytest.fixture
def clean_app(app):
    """The session's app with every table emptied first."""
    app.extensions["chom_queue"].wait_idle()
    truncate_all(app)
    return app


@pytest.fixture
def client(clean_app):
    return clean_app.test_client()


@pytest.fixture
def local_vps(clean_app, tmp_path):
    """A `local`-transport VPS whose filesystem is a temporary folder."""
    from chom.services import fleet

    with clean_app.app_context():
        settings = operators.local_vps_settings(str(tmp_path / "vps"))
        # Never the machine's own MariaDB: database steps are no-ops on this VPS.
        settings["commands"] = {**settings["commands"], "mysql": ["true"]}
        vps = fleet.add_vps(
            name="local-test", host="localhost", transport="local", capacity=100,
            ssh_user="", settings=settings,
        )
        return {"id": str(vps.id), "name": vps.name, "root": tmp_path / "vps"}


class Account:
    """A registered organization owner, with helpers to call the API as them."""

    def __init__(self, client, data: dict, password: str) -> None:
        self.client = client
        self.token = data["token"]
        self.user_id = data["user"]["id"]
        self.organization_id = data["organization"]["id"]
        self.email = data["user"]["email"]
        self.password = password
        self.tenant_id = self.get("/api/v1/auth/me").json["data"]["tenant"]["id"]

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def _call(self, method, path, headers=None, **kwargs):
        return self.client.open(path, method=method, headers={**self.headers, **(headers or {})},
                                **kwargs)

    def get(self, path, **kwargs):
        return self._call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("POST", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("DELETE", path, **kwargs)

    def patch(self, path, **kwargs):
        return self._call("PATCH", path, **kwargs)

    def create_site(self, domain: str, type: str = "html", headers=None, **extra):
        return self.post("/api/v1/sites", headers=headers,
                         json={"domain": domain, "type": type, **extra})

    def wait_for_operation(self, operation_id: str, timeout: float = 30, headers=None) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            data = self.get(f"/api/v1/operations/{operation_id}", headers=headers).json["data"]
            if data["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return data
            time.sleep(0.05)


@pytest.fixture
def register(client):
    """`register("Acme")` → an `Account` for a new organization's owner."""
    counter = iter(range(1, 10_000))

    def _register(organization: str = "Acme", email: str | None = None) -> Account:
        email = email or f"owner{next(counter)}@{organization.lower().replace(' ', '')}.test"
        response = client.post("/api/v1/auth/register", json={
            "organization": organization, "name": "Owner", "email": email,
            "password": PASSWORD,
        })
        assert response.status_code == 201, response.json
        return Account(client, response.json["data"], PASSWORD)

    return _register


# --- The observability stack (real Prometheus, Alertmanager, node exporter; fakes for Loki and
# Grafana), started once per session by the tests that ask for it.


@pytest.fixture(scope="session")
def observability_stack(tmp_path_factory):
    from tests.stack import start_stack

    stack = start_stack(tmp_path_factory.mktemp("observability"))
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def observed_app(app, observability_stack, tmp_path_factory):
    """An app on the session's (migrated) database pointed at the observability stack, in rq
    mode so its breakers and degraded cache live in Redis as in production (on a queue of its
    own that nothing is enqueued on)."""
    config = base_config(tmp_path_factory.mktemp("observed"), CHOM_JOB_MODE="rq",
                         REDIS_URL=TEST_REDIS_URL, CHOM_QUEUE_NAME="chom-test-observed",
                         CHOM_BACKEND_RETRY_BASE_SECONDS=0.01, **observability_stack.config)
    observed = create_app(config)
    assert observed.extensions["chom_queue"].mode == "rq"
    yield observed
    with observed.app_context():
        db.engine.dispose()


@pytest.fixture
def observed_client(observed_app, clean_app):
    """A client of `observed_app`, with every backend breaker closed and no answer cached."""
    from tests.stack import reset_backend_state

    reset_backend_state()
    return observed_app.test_client()
