"""Console account pages: API tokens (shown once, revoked) and two-factor set-up."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from chom import create_app
from tests.conftest import PASSWORD, base_config
from tests.web.console import log_in, member_client


def _logged_in(app, owner):
    client = app.test_client()
    log_in(client, owner.email)
    return client


def _token_id(owner, name: str) -> str:
    [found] = [t["id"] for t in owner.get("/api/v1/tokens").json["data"] if t["name"] == name]
    return found


def test_token_is_shown_once_works_on_the_api_and_is_revoked(clean_app, register):
    owner = register("Token Co")
    client = _logged_in(clean_app, owner)
    created = client.post("/account/tokens", data={"name": "deploy bot", "expires_in_days": "30",
                                                   "abilities": ["sites:read"]})
    assert created.status_code == 201
    html = created.get_data(as_text=True)
    [plain] = re.findall(r'id="new-token" class="secret" readonly value="([^"]+)"', html)
    assert "shown this once" in html
    assert "deploy bot" in html and "sites:read" in html

    api = clean_app.test_client()
    bearer = {"Authorization": f"Bearer {plain}"}
    assert api.get("/api/v1/sites", headers=bearer).status_code == 200
    assert api.post("/api/v1/sites", headers=bearer,  # the token was limited to reading
                    json={"domain": "x.example.com", "type": "html"}).status_code == 403

    listed = client.get("/account/tokens").get_data(as_text=True)
    assert plain not in listed  # never shown again
    token_id = _token_id(owner, "deploy bot")
    assert f'action="/account/tokens/{token_id}/revoke"' in listed
    revoked = client.post(f"/account/tokens/{token_id}/revoke", follow_redirects=True)
    assert "was revoked" in revoked.get_data(as_text=True)
    assert api.get("/api/v1/sites", headers=bearer).status_code == 401
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404


def test_token_form_errors_are_inline(clean_app, register):
    client = _logged_in(clean_app, register("Token Co"))
    bad = client.post("/account/tokens", data={"name": "", "expires_in_days": "12",
                                               "abilities": ["root:everything"]})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("name", "abilities", "expires_in_days"):
        assert re.search(rf'id="{field}-errors"><p class="field-error">', html), field


def test_another_users_token_cannot_be_revoked(clean_app, register):
    owner = register("Token Co")
    client = _logged_in(clean_app, owner)
    client.post("/account/tokens", data={"name": "mine", "expires_in_days": ""})
    token_id = _token_id(owner, "mine")
    admin, _ = member_client(clean_app, owner, "admin")
    assert admin.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert "mine" in client.get("/account/tokens").get_data(as_text=True)


def test_two_factor_set_up_with_svg_qr_then_login_asks_for_a_code(clean_app, register):
    owner = register("Secure Co")
    client = _logged_in(clean_app, owner)
    assert "is <strong>off</strong>" in client.get("/account/two-factor").get_data(as_text=True)

    setup = client.post("/account/two-factor/setup").get_data(as_text=True)
    assert '<svg' in setup and "QR code for your authenticator app" in setup
    [secret] = re.findall(r'id="totp-secret">([A-Z2-7]+)<', setup)
    # The page shows the same pending set-up again until it is confirmed.
    assert secret in client.get("/account/two-factor").get_data(as_text=True)

    wrong = client.post("/account/two-factor/enable", data={"otp": "000000"})
    assert wrong.status_code == 422
    assert 'id="otp-errors"><p class="field-error">' in wrong.get_data(as_text=True)
    assert secret in wrong.get_data(as_text=True)  # the QR code stays for another try

    enabled = client.post("/account/two-factor/enable", data={"otp": pyotp.TOTP(secret).now()})
    html = enabled.get_data(as_text=True)
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", html)
    assert len(codes) == 10 and "shown this once" in html
    assert not re.findall(r"[0-9a-f]{6}-[0-9a-f]{6}", client.get("/account/two-factor").get_data(
        as_text=True))

    # Log-in: the password, then the code on a page of its own.
    fresh = clean_app.test_client()
    asked = fresh.post("/login", data={"email": owner.email, "password": PASSWORD})
    assert asked.status_code == 303 and asked.headers["Location"].endswith("/login/code")
    assert fresh.get("/dashboard").status_code == 302  # not logged in yet
    assert 'for="otp"' in fresh.get("/login/code").get_data(as_text=True)
    wrong = fresh.post("/login/code", data={"otp": "000000"})
    assert wrong.status_code == 401
    assert 'id="otp-errors"><p class="field-error">' in wrong.get_data(as_text=True)
    done = fresh.post("/login/code", data={"otp": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard")
    assert fresh.get("/dashboard").status_code == 200
    assert fresh.get("/login/code").status_code == 302  # the step is over

    recovery = clean_app.test_client()
    recovery.post("/login", data={"email": owner.email, "password": PASSWORD})
    assert recovery.post("/login/code", data={"otp": codes[0]}).status_code == 302
    again = clean_app.test_client()  # a recovery code works once
    again.post("/login", data={"email": owner.email, "password": PASSWORD})
    assert again.post("/login/code", data={"otp": codes[0]}).status_code == 401
    # The code in the log-in form itself still works (one request, as the API takes it); a
    # code works once, so this is the next one (accepted a step early, for clock drift).
    totp = pyotp.TOTP(secret)
    log_in(clean_app.test_client(), owner.email, otp=totp.at(time.time() + totp.interval))

    assert client.post("/account/two-factor/disable", data={"otp": "123"}).status_code == 422
    off = client.post("/account/two-factor/disable", data={"otp": codes[1]}, follow_redirects=True)
    assert "Two-factor authentication is off." in off.get_data(as_text=True)
    log_in(clean_app.test_client(), owner.email)


def test_the_code_step_needs_a_fresh_password_step(clean_app, register, monkeypatch):
    from chom.web import login_code

    owner = register("Secure Co")
    client = _logged_in(clean_app, owner)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', client.post(
        "/account/two-factor/setup").get_data(as_text=True)).group(1)
    client.post("/account/two-factor/enable", data={"otp": pyotp.TOTP(secret).now()})
    stranger = clean_app.test_client()
    assert stranger.get("/login/code").headers["Location"].endswith("/login")
    assert stranger.post("/login/code", data={"otp": pyotp.TOTP(secret).now()}
                         ).status_code == 302
    assert stranger.get("/dashboard").status_code == 302
    bad_password = stranger.post("/login", data={"email": owner.email, "password": "wrong one"})
    assert bad_password.status_code == 401  # no code step without the right password

    slow = clean_app.test_client()
    slow.post("/login", data={"email": owner.email, "password": PASSWORD})
    monkeypatch.setattr(login_code, "CODE_STEP_SECONDS", -1)  # the step has expired
    late = slow.post("/login/code", data={"otp": pyotp.TOTP(secret).now()})
    assert late.headers["Location"].endswith("/login")
    assert slow.get("/dashboard").status_code == 302


# --- CSRF on the new forms -------------------------------------------------------------------


@pytest.fixture
def csrf_app(app, tmp_path):
    """A separate app with CSRF protection on, as in production."""
    return create_app(base_config(tmp_path, WTF_CSRF_ENABLED=True))


def _csrf_log_in(client, email):
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": email, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302


@pytest.mark.parametrize("path, data", [
    ("/account/tokens", {"name": "no csrf", "expires_in_days": ""}),
    ("/account/two-factor/setup", {}),
    ("/tenant", {"tenant_id": "x"}),
    ("/sites/new", {"domain": "csrf.example.com", "type": "html"}),
    ("/fleet", {"name": "x"}),
    ("/login/code", {"otp": "123456"}),
])
def test_console_forms_without_a_csrf_token_are_refused(csrf_app, register, path, data):
    owner = register("Csrf Co")
    client = csrf_app.test_client()
    _csrf_log_in(client, owner.email)
    refused = client.post(path, data=data)
    assert refused.status_code == 400
    names = {t["name"] for t in owner.get("/api/v1/tokens").json["data"]}
    assert "no csrf" not in names  # nothing was created


def test_every_console_form_carries_a_csrf_token(csrf_app, register):
    owner = register("Csrf Co")
    client = csrf_app.test_client()
    _csrf_log_in(client, owner.email)
    for path in ("/dashboard", "/sites", "/sites/new", "/account/tokens", "/account/two-factor",
                 "/audit"):
        html = client.get(path).get_data(as_text=True)
        for form in re.findall(r"<form[^>]*>.*?</form>", html, re.S):
            if 'method="get"' in form:
                continue
            assert 'name="csrf_token"' in form, (path, form[:200])
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/account/tokens").get_data(as_text=True)).group(1)
    made = client.post("/account/tokens", data={"name": "with csrf", "expires_in_days": "",
                                                "csrf_token": token})
    assert made.status_code == 201
