"""Password reset by email (aiosmtpd): no account enumeration, a link that works once and
expires, and every old session and token ends."""

from itsdangerous import URLSafeTimedSerializer

from chom.services.password_reset import SALT
from tests.conftest import PASSWORD

NEW_PASSWORD = "a different long passphrase"


def _forgot(client, email):
    return client.post("/api/v1/auth/password/forgot", json={"email": email})


def _reset_token(app, mailbox, email):
    app.extensions["chom_queue"].wait_idle()  # the email is sent by a job
    return mailbox.token_in(mailbox.last_to(email), "/password/reset")


def test_reset_by_email_ends_old_sessions_and_tokens(app, clean_app, client, register, mailbox):
    account = register("Reset Co")
    other_token = client.post("/api/v1/auth/login", json={
        "email": account.email, "password": PASSWORD}).json["data"]["token"]
    browser = clean_app.test_client()
    browser.post("/login", data={"email": account.email, "password": PASSWORD})
    assert browser.get("/dashboard").status_code == 200

    answer = _forgot(client, account.email.upper())
    assert answer.status_code == 202 and answer.get_data() in (b"", b"null\n", b"{}\n")
    token = _reset_token(app, mailbox, account.email)
    weak = client.post("/api/v1/auth/password/reset", json={"token": token, "password": "short"})
    assert weak.status_code == 422
    done = client.post("/api/v1/auth/password/reset",
                       json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204

    assert client.post("/api/v1/auth/login", json={
        "email": account.email, "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/login", json={
        "email": account.email, "password": NEW_PASSWORD}).status_code == 200
    for old in (account.token, other_token):
        assert client.get("/api/v1/auth/me",
                          headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert browser.get("/dashboard").status_code == 302
    # The link worked once.
    again = client.post("/api/v1/auth/password/reset",
                        json={"token": token, "password": "yet another passphrase"})
    assert again.status_code == 404 and "not valid" in again.json["detail"]


def test_unknown_accounts_get_the_same_answer_and_no_mail(app, client, register, mailbox):
    register("Reset Co")
    answer = _forgot(client, "nobody@nowhere.test")
    assert answer.status_code == 202
    app.extensions["chom_queue"].wait_idle()
    assert mailbox.messages == []
    assert _forgot(client, "not even an email").status_code == 202


def test_forged_and_expired_links_are_refused(app, client, register, mailbox):
    account = register("Reset Co")
    _forgot(client, account.email)
    token = _reset_token(app, mailbox, account.email)
    forged = URLSafeTimedSerializer("another secret", salt=SALT).dumps(
        URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT).loads(token))
    # A changed character inside the signature (the last one may only carry padding bits).
    altered = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    for bad in (forged, altered, "garbage"):
        response = client.post("/api/v1/auth/password/reset",
                               json={"token": bad, "password": NEW_PASSWORD})
        assert response.status_code == 404, bad
    app.config["CHOM_PASSWORD_RESET_TTL_MINUTES"] = -1  # every link is past its age now
    try:
        expired = client.post("/api/v1/auth/password/reset",
                              json={"token": token, "password": NEW_PASSWORD})
    finally:
        app.config["CHOM_PASSWORD_RESET_TTL_MINUTES"] = 60
    assert expired.status_code == 404
    assert client.post("/api/v1/auth/password/reset",
                       json={"token": token, "password": NEW_PASSWORD}).status_code == 204


def test_reset_emails_for_one_account_are_rate_limited(app, client, register, mailbox):
    account = register("Reset Co")
    app.config["CHOM_RATE_LIMIT_LOGIN_ACCOUNT"] = "1/minute"
    try:
        first = _forgot(client, account.email)
        second = client.post("/api/v1/auth/password/forgot", json={"email": account.email},
                             environ_base={"REMOTE_ADDR": "10.9.8.7"})  # another address
    finally:
        app.config["CHOM_RATE_LIMIT_LOGIN_ACCOUNT"] = "100000/minute"
    assert first.status_code == 202
    assert second.status_code == 429 and "Retry-After" in second.headers
    app.extensions["chom_queue"].wait_idle()
    assert len(mailbox.to(account.email)) == 1
