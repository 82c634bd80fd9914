"""Registration, log-in, who-am-I and bearer-token checks."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import ApiToken, Subscription, Tenant, User


def test_register_creates_organization_first_tenant_owner_and_token(client, clean_app):
    response = client.post("/api/v1/auth/register", json={
        "organization": "Acme Hosting", "name": "Ada", "email": "Ada@Example.COM",
        "password": "a long enough passphrase"})
    assert response.status_code == 201
    data = response.json["data"]
    assert data["user"]["email"] == "ada@example.com"
    assert data["user"]["role"] == "owner"
    assert data["organization"]["name"] == "Acme Hosting"
    assert data["token"].startswith("chom_")
    with clean_app.app_context():
        tenant = db.session.scalar(select(Tenant))
        assert (tenant.plan, tenant.status) == ("starter", "trialing")
        assert (tenant.trial_ends_at - datetime.now(UTC)).days in (13, 14)
        assert db.session.scalar(select(Subscription.status)) == "trialing"
        user = db.session.scalar(select(User))
        assert user.password_hash.startswith("$argon2id$")
        assert "a long enough passphrase" not in user.password_hash


def test_register_rejects_taken_email_weak_password_and_bad_email(client, register):
    account = register("Acme")
    taken = client.post("/api/v1/auth/register", json={
        "organization": "Other", "name": "B", "email": account.email.upper(),
        "password": "another long passphrase"})
    assert taken.status_code == 409
    weak = client.post("/api/v1/auth/register", json={
        "organization": "Other", "name": "B", "email": "b@b.test", "password": "short"})
    assert weak.status_code == 422
    assert "password" in weak.json["errors"]
    bad = client.post("/api/v1/auth/register", json={
        "organization": "Other", "name": "B", "email": "not-an-email",
        "password": "another long passphrase"})
    assert bad.status_code == 422
    assert "email" in bad.json["errors"]
    missing = client.post("/api/v1/auth/register", json={})
    assert missing.status_code == 422
    assert {"organization", "name", "email", "password"} <= set(missing.json["errors"])


def test_login_returns_token_and_wrong_password_is_401(client, register):
    account = register("Acme")
    ok = client.post("/api/v1/auth/login", json={"email": account.email,
                                                 "password": account.password})
    assert ok.status_code == 200
    assert ok.json["data"]["user"]["role"] == "owner"
    me = client.get("/api/v1/auth/me",
                    headers={"Authorization": f"Bearer {ok.json['data']['token']}"})
    assert me.json["data"]["user"]["email"] == account.email

    wrong = client.post("/api/v1/auth/login", json={"email": account.email,
                                                    "password": "wrong password!"})
    assert wrong.status_code == 401
    assert wrong.content_type == "application/problem+json"
    unknown = client.post("/api/v1/auth/login", json={"email": "nobody@x.test",
                                                      "password": "whatever pass"})
    assert unknown.status_code == 401
    assert unknown.json["detail"] == wrong.json["detail"]  # no account enumeration


def test_me_reports_role_organization_and_tenants(register):
    account = register("Acme")
    data = account.get("/api/v1/auth/me").json["data"]
    assert data["user"]["role"] == "owner"
    assert data["organization"]["id"] == account.organization_id
    assert [t["id"] for t in data["tenants"]] == [data["tenant"]["id"]]


def test_bad_missing_revoked_and_expired_tokens_are_401(client, clean_app, register):
    account = register("Acme")
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me",
                      headers={"Authorization": "Bearer chom_nope"}).status_code == 401
    assert client.get("/api/v1/auth/me",
                      headers={"Authorization": "Basic abc"}).status_code == 401

    created = account.post("/api/v1/tokens", json={"name": "short-lived"}).json["data"]
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    with clean_app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.name == "short-lived"))
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401

    second = account.post("/api/v1/tokens", json={"name": "revoke-me"}).json["data"]
    assert account.delete(f"/api/v1/tokens/{second['id']}").status_code == 204
    assert client.get("/api/v1/auth/me", headers={
        "Authorization": f"Bearer {second['token']}"}).status_code == 401
