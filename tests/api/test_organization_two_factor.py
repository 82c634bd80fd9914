"""An owner requires 2FA of every member: members without it get a clear 403 on everything
but 2FA set-up, who-am-I and log-out, on the API and the console."""

import pyotp

from tests.conftest import PASSWORD
from tests.members import add_member


def _enable_two_factor(client, headers) -> pyotp.TOTP:
    secret = client.post("/api/v1/auth/2fa/setup", headers=headers).json["data"]["secret"]
    totp = pyotp.TOTP(secret)
    enabled = client.post("/api/v1/auth/2fa/enable", headers=headers, json={"otp": totp.now()})
    assert enabled.status_code == 200
    return totp


def _require(owner, value=True):
    return owner.client.patch("/api/v1/organization", headers=owner.headers,
                              json={"require_two_factor": value})


def test_the_owner_needs_it_first(register):
    owner = register("Strict Co")
    refused = _require(owner)
    assert refused.status_code == 409 and "yourself first" in refused.json["detail"]
    assert owner.get("/api/v1/organization").json["data"]["require_two_factor"] is False


def test_members_without_2fa_are_sent_to_set_it_up(clean_app, client, register):
    owner = register("Strict Co")
    _enable_two_factor(client, owner.headers)
    member = add_member(clean_app, owner, "member")
    headers = member["headers"]
    assert client.get("/api/v1/sites", headers=headers).status_code == 200

    admin = add_member(clean_app, owner, "admin")
    assert client.patch("/api/v1/organization", headers=admin["headers"],
                        json={"require_two_factor": True}).status_code == 403
    required = _require(owner)
    assert required.status_code == 200 and required.json["data"]["require_two_factor"] is True

    blocked = client.get("/api/v1/sites", headers=headers)
    assert blocked.status_code == 403
    assert blocked.json["type"] == "https://chom.dev/problems/two-factor-setup-required"
    assert "/api/v1/auth/2fa/setup" in blocked.json["detail"]
    for method, path in (("POST", "/api/v1/tenants"), ("GET", "/api/v1/tokens"),
                         ("GET", "/api/v1/organization")):
        answer = client.open(path, method=method, headers=headers, json={"name": "x"})
        assert answer.status_code == 403, path
    # What stays open: who am I, set-up, and logging out (revoking the token).
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    _enable_two_factor(client, headers)
    assert client.get("/api/v1/sites", headers=headers).status_code == 200
    # The owner (with 2FA) was never blocked.
    assert owner.get("/api/v1/sites").status_code == 200


def test_a_member_may_log_out_without_2fa(clean_app, client, register):
    owner = register("Strict Co")
    _enable_two_factor(client, owner.headers)
    member = add_member(clean_app, owner, "viewer")
    _require(owner)
    me = client.get("/api/v1/auth/me", headers=member["headers"]).json["data"]
    assert me["user"]["role"] == "viewer"
    tokens_blocked = client.get("/api/v1/tokens", headers=member["headers"])
    assert tokens_blocked.status_code == 403
    from sqlalchemy import select

    from chom.extensions import db
    from chom.models import ApiToken

    with clean_app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(
            ApiToken.prefix == member["token"][:12]))
    assert client.delete(f"/api/v1/tokens/{token_id}",
                         headers=member["headers"]).status_code == 204
    assert client.get("/api/v1/auth/me", headers=member["headers"]).status_code == 401


def test_the_console_says_so_too(clean_app, client, register):
    owner = register("Strict Co")
    _enable_two_factor(client, owner.headers)
    member = add_member(clean_app, owner, "member")
    _require(owner)
    from tests.api.test_members import _set_password

    _set_password(clean_app, member["user_id"])
    email = client.get("/api/v1/auth/me", headers=member["headers"]).json["data"]["user"]["email"]
    browser = clean_app.test_client()
    assert browser.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    page = browser.get("/dashboard")
    assert page.status_code == 403
    assert "requires two-factor authentication" in page.get_data(as_text=True)
    setup = browser.get("/account/two-factor")
    assert setup.status_code == 200
    assert browser.post("/logout").status_code == 302


def test_turning_the_requirement_off(clean_app, client, register):
    owner = register("Strict Co")
    _enable_two_factor(client, owner.headers)
    member = add_member(clean_app, owner, "member")
    _require(owner)
    assert client.get("/api/v1/sites", headers=member["headers"]).status_code == 403
    assert _require(owner, False).status_code == 200
    assert client.get("/api/v1/sites", headers=member["headers"]).status_code == 200
