"""API tokens: named, hashed at rest, shown once, revocable, expiring, with abilities."""

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import ApiToken


def test_token_is_shown_once_and_stored_only_as_a_digest(clean_app, register):
    account = register("Acme")
    created = account.post("/api/v1/tokens", json={"name": "ci"})
    assert created.status_code == 201
    plain = created.json["data"]["token"]
    listed = account.get("/api/v1/tokens").json["data"]
    assert {t["name"] for t in listed} >= {"ci", "registration"}
    assert all("token" not in t for t in listed)
    with clean_app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.name == "ci"))
        assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
        stored = [str(v) for v in (row.token_hash, row.prefix, row.name)]
        assert plain not in stored


def test_abilities_narrow_what_a_token_may_do(client, register, local_vps):
    account = register("Acme")
    read_only = account.post("/api/v1/tokens", json={
        "name": "read", "abilities": ["sites:read"]}).json["data"]["token"]
    headers = {"Authorization": f"Bearer {read_only}"}
    assert client.get("/api/v1/sites", headers=headers).status_code == 200
    denied = client.post("/api/v1/sites", headers=headers,
                         json={"domain": "ro.example.com", "type": "html"})
    assert denied.status_code == 403
    assert denied.content_type == "application/problem+json"


def test_token_validation(register):
    account = register("Acme")
    unknown = account.post("/api/v1/tokens", json={"name": "x", "abilities": ["root"]})
    assert unknown.status_code == 422
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert account.post("/api/v1/tokens", json={"name": "x", "expires_at": past}).status_code == 422
    naive = account.post("/api/v1/tokens", json={"name": "x", "expires_at": "2030-01-01T00:00:00"})
    assert naive.status_code == 422
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    ok = account.post("/api/v1/tokens", json={"name": "x", "expires_at": future})
    assert ok.status_code == 201
    assert ok.json["data"]["expires_at"].startswith(future[:10])


def test_cannot_revoke_someone_elses_token(register):
    alice, bob = register("Alice Co"), register("Bob Co")
    bobs = bob.post("/api/v1/tokens", json={"name": "bob"}).json["data"]
    assert alice.delete(f"/api/v1/tokens/{bobs['id']}").status_code == 404
    assert bob.get("/api/v1/auth/me",
                   headers={"Authorization": f"Bearer {bobs['token']}"}).status_code == 200
