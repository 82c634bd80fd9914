"""The console's team page, invitation acceptance, password reset and 2FA set-up pages, with
mail through aiosmtpd."""

from __future__ import annotations

import re

import pyotp
import pytest

from chom import create_app
from tests.conftest import PASSWORD, base_config
from tests.members import add_member
from tests.web.test_console import _input, parse


def _log_in(browser, email, password=PASSWORD):
    response = browser.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _flash(page) -> str:
    return " ".join(re.findall(r'role="alert">([^<]*)<', page.get_data(as_text=True)))


def test_invite_from_the_console_and_accept_in_the_browser(clean_app, register, mailbox):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    browser = _log_in(clean_app.test_client(), owner.email)
    page = browser.get("/team")
    assert page.status_code == 200
    assert owner.email in page.get_data(as_text=True)
    parsed = parse(page)
    # The invitation form's scope chooser lists both tenants (the owner's row has none).
    assert len([i for i in parsed.inputs if i.get("name") == "tenant_ids"]) == 2

    sent = browser.post("/team/invitations", data={
        "email": "client@b.test", "role": "member", "scope": "some", "tenant_ids": [tenant_b]},
        follow_redirects=True)
    assert "Invitation sent to client@b.test" in _flash(sent)
    assert "client@b.test" in sent.get_data(as_text=True)

    link = re.search(r"http\S+/invitations/accept\?token=\S+",
                     mailbox.body(mailbox.last_to("client@b.test"))).group(0)
    path = link.split("127.0.0.1:5000", 1)[1]
    newcomer = clean_app.test_client()
    offer = newcomer.get(path)
    assert offer.status_code == 200 and "Agency" in offer.get_data(as_text=True)
    token = _input(parse(offer), "token")["value"]
    weak = newcomer.post("/invitations/accept", data={"token": token, "name": "Client",
                                                      "password": "short"})
    assert weak.status_code == 422
    joined = newcomer.post("/invitations/accept", data={"token": token, "name": "Client",
                                                        "password": PASSWORD})
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/dashboard")
    assert newcomer.get("/dashboard").status_code == 200  # logged in
    assert "Tenant not found" in _flash(newcomer.get(f"/dashboard?tenant={owner.tenant_id}"))
    used = clean_app.test_client().get(path)
    assert used.status_code == 404 and "not valid" in used.get_data(as_text=True)

    members = {m["user"]["email"]: m for m in owner.get("/api/v1/members").json["data"]}
    assert [t["id"] for t in members["client@b.test"]["tenants"]] == [tenant_b]


def test_role_scope_remove_resend_revoke_from_the_team_page(clean_app, register, mailbox):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    member = add_member(clean_app, owner, "member")
    member_id = next(m["id"] for m in owner.get("/api/v1/members").json["data"]
                     if m["user"]["id"] == member["user_id"])
    browser = _log_in(clean_app.test_client(), owner.email)

    saved = browser.post(f"/team/members/{member_id}", data={
        "role": "viewer", "scope": "some", "tenant_ids": [tenant_b]}, follow_redirects=True)
    assert "Member updated." in _flash(saved)
    updated = next(m for m in owner.get("/api/v1/members").json["data"] if m["id"] == member_id)
    assert updated["role"] == "viewer" and [t["id"] for t in updated["tenants"]] == [tenant_b]

    own_id = next(m["id"] for m in owner.get("/api/v1/members").json["data"]
                  if m["user"]["id"] == owner.user_id)
    refused = browser.post(f"/team/members/{own_id}", data={"role": "admin", "scope": "all"},
                           follow_redirects=True)
    assert "last owner" in _flash(refused)

    invitation = owner.post("/api/v1/invitations", json={"email": "x@agency.test",
                                                         "role": "member"}).json["data"]
    resent = browser.post(f"/team/invitations/{invitation['id']}/resend", follow_redirects=True)
    assert "previous link no longer works" in _flash(resent)
    assert len(mailbox.to("x@agency.test")) == 2
    revoked = browser.post(f"/team/invitations/{invitation['id']}/revoke",
                           follow_redirects=True)
    assert "Invitation revoked." in _flash(revoked)
    assert owner.get("/api/v1/invitations").json["data"] == []

    removed = browser.post(f"/team/members/{member_id}/remove", follow_redirects=True)
    assert "Member removed." in _flash(removed)
    assert owner.client.get("/api/v1/sites", headers=member["headers"]).status_code == 401


def test_members_and_viewers_may_not_open_the_team_page(clean_app, register):
    owner = register("Agency")
    member = add_member(clean_app, owner, "member")
    from tests.api.test_members import _set_password

    _set_password(clean_app, member["user_id"])
    email = owner.client.get("/api/v1/auth/me", headers=member["headers"]).json["data"]["user"][
        "email"]
    browser = _log_in(clean_app.test_client(), email)
    assert browser.get("/team").status_code == 403
    assert browser.post("/team/invitations", data={"email": "a@b.test", "role": "member"}
                        ).status_code == 403


def test_password_reset_pages(clean_app, register, mailbox):
    account = register("Reset Co")
    browser = clean_app.test_client()
    assert "Forgot your password?" in browser.get("/login").get_data(as_text=True)
    assert browser.get("/password/forgot").status_code == 200
    asked = browser.post("/password/forgot", data={"email": account.email},
                         follow_redirects=True)
    assert "reset link is on its way" in _flash(asked)
    unknown = browser.post("/password/forgot", data={"email": "nobody@x.test"},
                           follow_redirects=True)
    assert _flash(unknown) == _flash(asked)
    clean_app.extensions["chom_queue"].wait_idle()
    token = mailbox.token_in(mailbox.last_to(account.email), "/password/reset")
    form = browser.get(f"/password/reset?token={token}")
    assert form.status_code == 200
    assert browser.post("/password/reset", data={"token": token, "password": "short"}
                        ).status_code == 422
    done = browser.post("/password/reset", data={"token": token,
                                                 "password": "a brand new passphrase"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    _log_in(browser, account.email, "a brand new passphrase")
    stale = clean_app.test_client().get(f"/password/reset?token={token}", follow_redirects=True)
    assert "not valid" in _flash(stale)


def test_two_factor_set_up_page(clean_app, client, register):
    account = register("Secure Co")
    browser = _log_in(clean_app.test_client(), account.email)
    assert browser.get("/account/two-factor").status_code == 200
    started = browser.post("/account/two-factor/setup")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.get_data(as_text=True)).group(1)
    assert browser.post("/account/two-factor/enable", data={"otp": "000000"}
                        ).status_code == 422
    enabled = browser.post("/account/two-factor/enable",
                           data={"otp": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200
    assert len(re.findall(r"<li><code>", enabled.get_data(as_text=True))) == 10
    login = client.post("/api/v1/auth/login", json={"email": account.email,
                                                    "password": PASSWORD})
    assert login.status_code == 401 and login.json["type"].endswith("/two-factor-required")


def test_the_owner_requires_two_factor_from_the_team_page(clean_app, client, register):
    owner = register("Strict Co")
    browser = _log_in(clean_app.test_client(), owner.email)
    refused = browser.post("/team/security", data={"require_two_factor": "on"},
                           follow_redirects=True)
    assert "for yourself first" in _flash(refused)
    from tests.api.test_organization_two_factor import _enable_two_factor

    _enable_two_factor(client, owner.headers)
    done = browser.post("/team/security", data={"require_two_factor": "on"},
                        follow_redirects=True)
    assert "now required" in _flash(done)
    assert owner.get("/api/v1/organization").json["data"]["require_two_factor"] is True
    assert 'name="require_two_factor" checked' in done.get_data(as_text=True)
    off = browser.post("/team/security", data={}, follow_redirects=True)
    assert "no longer required" in _flash(off)
    admin = add_member(clean_app, owner, "admin")
    from tests.api.test_members import _set_password

    _set_password(clean_app, admin["user_id"])
    email = client.get("/api/v1/auth/me", headers=admin["headers"]).json["data"]["user"]["email"]
    admin_browser = _log_in(clean_app.test_client(), email)
    assert "require_two_factor" not in admin_browser.get("/team").get_data(as_text=True)
    assert admin_browser.post("/team/security", data={"require_two_factor": "on"}
                              ).status_code == 403


@pytest.fixture
def csrf_app(app, tmp_path):
    """A separate app with CSRF protection on, as in production."""
    return create_app(base_config(tmp_path, WTF_CSRF_ENABLED=True))


def test_every_team_form_carries_a_csrf_token_and_needs_it(csrf_app, clean_app, register):
    owner = register("Agency")
    add_member(clean_app, owner, "member")
    owner.post("/api/v1/invitations", json={"email": "p@agency.test", "role": "member"})
    browser = csrf_app.test_client()
    token = _input(parse(browser.get("/login")), "csrf_token")["value"]
    assert browser.post("/login", data={"email": owner.email, "password": PASSWORD,
                                        "csrf_token": token}).status_code == 302
    page = browser.get("/team").get_data(as_text=True)
    forms = re.findall(r"<form method=\"post\".*?</form>", page, flags=re.S)
    assert len(forms) >= 6
    assert all('name="csrf_token"' in form for form in forms)
    assert browser.post("/team/invitations", data={"email": "n@agency.test",
                                                   "role": "member"}).status_code == 400
    for path in ("/password/forgot", "/invitations/accept?token=x"):
        body = browser.get(path).get_data(as_text=True)
        assert 'name="csrf_token"' in body or "not valid" in body
