"""CORS: only the origins in CHOM_CORS_ORIGINS may call the API from a browser."""

import pytest

from chom import create_app
from chom.extensions import db
from tests.conftest import base_config

ALLOWED = "https://panel.example.com"


@pytest.fixture(scope="module")
def cors_app(app, tmp_path_factory):
    """An app like the session's (same database), with one allowed origin."""
    cors = create_app(base_config(tmp_path_factory.mktemp("cors"), CHOM_CORS_ORIGINS=[ALLOWED]))
    yield cors
    with cors.app_context():
        db.engine.dispose()


def _preflight(client, origin):
    return client.options("/api/v1/sites", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type, X-Tenant-ID"})


def test_a_configured_origin_is_allowed(cors_app):
    client = cors_app.test_client()
    preflight = _preflight(client, ALLOWED)
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "x-tenant-id" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    answer = client.get("/api/v1/auth/me", headers={"Origin": ALLOWED})
    assert answer.status_code == 401
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Correlation-ID" in answer.headers["Access-Control-Expose-Headers"]


def test_other_origins_and_the_console_get_nothing(cors_app):
    client = cors_app.test_client()
    for origin in ("https://evil.example.com", "https://panel.example.com.evil.test", "null"):
        assert "Access-Control-Allow-Origin" not in _preflight(client, origin).headers
        assert "Access-Control-Allow-Origin" not in client.get(
            "/api/v1/auth/me", headers={"Origin": origin}).headers
    assert "Access-Control-Allow-Origin" not in client.get(
        "/login", headers={"Origin": ALLOWED}).headers


def test_no_origin_is_allowed_by_default(client):
    assert "Access-Control-Allow-Origin" not in _preflight(client, ALLOWED).headers
    assert "Access-Control-Allow-Origin" not in client.get(
        "/api/v1/auth/me", headers={"Origin": ALLOWED}).headers
