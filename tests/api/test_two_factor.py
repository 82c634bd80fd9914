"""TOTP two-factor: set-up, enforced log-in (API and console), recovery codes, disable."""

import re
import time
from urllib.parse import parse_qs, urlparse

import pyotp


def _enable(account):
    setup = account.post("/api/v1/auth/2fa/setup")
    assert setup.status_code == 200
    data = setup.json["data"]
    uri = urlparse(data["otpauth_uri"])
    assert uri.scheme == "otpauth" and parse_qs(uri.query)["issuer"] == ["CHOM"]
    totp = pyotp.TOTP(data["secret"])
    assert account.post("/api/v1/auth/2fa/enable", json={"otp": "000000"}).status_code == 422
    enabled = account.post("/api/v1/auth/2fa/enable", json={"otp": totp.now()})
    assert enabled.status_code == 200
    codes = enabled.json["data"]["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes


def _next_code(totp: pyotp.TOTP) -> str:
    return totp.at(time.time() + totp.interval)


def _login(client, account, **extra):
    return client.post("/api/v1/auth/login",
                       json={"email": account.email, "password": account.password, **extra})


def test_login_needs_the_code_once_enabled(client, register):
    account = register("Secure Co")
    totp, _ = _enable(account)
    missing = _login(client, account)
    assert missing.status_code == 401 and missing.json["type"].endswith("/two-factor-required")
    wrong = _login(client, account, otp="123456")
    assert wrong.status_code == 401 and "code" in wrong.json["detail"]
    assert _login(client, account, otp=totp.now()).status_code == 200


def test_a_code_works_once(client, register):
    account = register("Secure Co")
    totp, _ = _enable(account)
    code = totp.now()
    assert _login(client, account, otp=code).status_code == 200
    replayed = _login(client, account, otp=code)
    assert replayed.status_code == 401 and "code" in replayed.json["detail"]
    assert _login(client, account, otp=_next_code(totp)).status_code == 200
    # Once a newer code was taken, the older one is refused too, though still in its window.
    assert _login(client, account, otp=totp.at(time.time() - totp.interval)).status_code == 401


def test_two_log_ins_racing_with_one_code_let_one_in(app, register):
    from concurrent.futures import ThreadPoolExecutor

    account = register("Secure Co")
    totp, _ = _enable(account)
    code = totp.now()

    def attempt(_):
        return _login(app.test_client(), account, otp=code).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, range(8)))
    assert sorted(answers) == [200] + [401] * 7


def test_a_recovery_code_works_once(client, register):
    account = register("Secure Co")
    _, codes = _enable(account)
    assert _login(client, account, otp=codes[0]).status_code == 200
    assert _login(client, account, otp=codes[0]).status_code == 401
    assert _login(client, account, otp=codes[1].upper()).status_code == 200


def test_disable_needs_a_code_and_turns_it_off(client, register):
    account = register("Secure Co")
    totp, _ = _enable(account)
    assert account.post("/api/v1/auth/2fa/disable", json={"otp": "999999"}).status_code == 422
    assert account.post("/api/v1/auth/2fa/disable", json={"otp": totp.now()}).status_code == 204
    assert _login(client, account).status_code == 200
    assert account.post("/api/v1/auth/2fa/enable", json={"otp": totp.now()}).status_code == 409


def test_the_console_asks_for_the_code(clean_app, register):
    account = register("Secure Co")
    totp, _ = _enable(account)
    browser = clean_app.test_client()
    step = browser.post("/login", data={"email": account.email, "password": account.password})
    assert step.status_code == 303 and step.headers["Location"].endswith("/login/code")
    page = browser.get("/login/code")
    assert "authenticator app" in page.get_data(as_text=True)
    assert re.search(r'<label for="otp">', page.get_data(as_text=True))
    ok = browser.post("/login/code", data={"otp": totp.now()})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/dashboard")
    # The code in the log-in form itself is taken too (one request); a code works once, so
    # this log-in uses the next one (accepted a step early, for clock drift).
    ok = clean_app.test_client().post("/login", data={
        "email": account.email, "password": account.password, "otp": _next_code(totp)})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/dashboard")


def test_the_secret_is_stored_encrypted_and_codes_hashed(clean_app, register):
    from sqlalchemy import select

    from chom.extensions import db
    from chom.models import User

    account = register("Secure Co")
    totp, codes = _enable(account)
    with clean_app.app_context():
        user = db.session.scalar(select(User).where(User.email == account.email))
        assert totp.secret not in user.totp_secret_encrypted
        assert all(code not in str(user.recovery_code_hashes) for code in codes)
        assert all(h.startswith("$argon2id$") for h in user.recovery_code_hashes)
