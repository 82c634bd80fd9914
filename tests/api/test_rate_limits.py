"""Rate limits: auth per IP, API per user, sensitive actions per user; counters in Redis.

Each test builds its own app with low limits whose limiter stores its counters in the test
Redis database (flushed first). The apps share the session's PostgreSQL database, so every
account here gets a unique email.
"""

from __future__ import annotations

import uuid

import pytest
import redis

from chom import create_app
from tests.conftest import PASSWORD, TEST_REDIS_URL, base_config

AUTH, API, SENSITIVE = 3, 4, 2


@pytest.fixture
def redis_db():
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def limited_app(app, redis_db, tmp_path):
    """An app with low limits, counting in Redis. Depends on `app`: the schema exists."""
    return create_app(base_config(
        tmp_path,
        CHOM_RATE_LIMIT_AUTH=f"{AUTH}/minute",
        CHOM_RATE_LIMIT_API=f"{API}/minute",
        CHOM_RATE_LIMIT_SENSITIVE=f"{SENSITIVE}/minute",
        RATELIMIT_STORAGE_URI=TEST_REDIS_URL,
    ))


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@limits.test"


def _register(client, ip: str, tag: str = "owner") -> dict:
    """Register a fresh owner from `ip`; returns {"email", "user_id", "headers"}."""
    email = _email(tag)
    response = client.post("/api/v1/auth/register", json={
        "organization": f"Limits {tag}", "name": "Owner", "email": email, "password": PASSWORD,
    }, environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    return {"email": email, "user_id": data["user"]["id"],
            "headers": {"Authorization": f"Bearer {data['token']}"}}


def _login(client, email: str, ip: str):
    return client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": ip})


def assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == 429
    assert body["type"].endswith("/rate-limited")
    assert body["title"] and body["detail"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) > 0


# --- auth: per IP -----------------------------------------------------------------------------


def test_auth_limit_answers_429_problem_with_retry_after(limited_app):
    client = limited_app.test_client()
    account = _register(client, ip="10.0.1.1")  # registration is on the auth tier too
    answers = [_login(client, account["email"], "10.0.1.2").status_code for _ in range(AUTH)]
    assert answers == [200] * AUTH
    assert_rate_limited(_login(client, account["email"], "10.0.1.2"))


def test_auth_limit_is_per_ip(limited_app):
    client = limited_app.test_client()
    account = _register(client, ip="10.0.2.1")
    for _ in range(AUTH):
        _login(client, account["email"], "10.0.2.2")
    assert _login(client, account["email"], "10.0.2.2").status_code == 429
    # The same account from another address still has its own allowance.
    assert _login(client, account["email"], "10.0.2.3").status_code == 200


def test_failed_logins_count_against_the_auth_limit(limited_app):
    client = limited_app.test_client()
    for _ in range(AUTH):
        response = client.post("/api/v1/auth/login",
                               json={"email": _email("nobody"), "password": "wrong password"},
                               environ_base={"REMOTE_ADDR": "10.0.3.1"})
        assert response.status_code == 401
    assert_rate_limited(client.post(
        "/api/v1/auth/login", json={"email": _email("nobody"), "password": "wrong password"},
        environ_base={"REMOTE_ADDR": "10.0.3.1"},
    ))


def test_registration_is_on_the_auth_tier(limited_app):
    client = limited_app.test_client()
    for _ in range(AUTH):
        _register(client, ip="10.0.4.1")
    assert_rate_limited(client.post("/api/v1/auth/register", json={
        "organization": "Late", "name": "Owner", "email": _email("late"), "password": PASSWORD,
    }, environ_base={"REMOTE_ADDR": "10.0.4.1"}))


# --- API: per user ----------------------------------------------------------------------------


def test_api_limit_is_per_user(limited_app):
    client = limited_app.test_client()
    alice = _register(client, ip="10.0.5.1", tag="alice")
    bob = _register(client, ip="10.0.5.2", tag="bob")
    for _ in range(API):
        assert client.get("/api/v1/auth/me", headers=alice["headers"]).status_code == 200
    assert_rate_limited(client.get("/api/v1/auth/me", headers=alice["headers"]))
    # Bob has his own allowance, in full.
    for _ in range(API):
        assert client.get("/api/v1/auth/me", headers=bob["headers"]).status_code == 200
    assert_rate_limited(client.get("/api/v1/auth/me", headers=bob["headers"]))


def test_counted_answers_carry_the_allowance_but_no_retry_after(limited_app):
    client = limited_app.test_client()
    dave = _register(client, ip="10.0.5.3", tag="dave")
    answered = client.get("/api/v1/auth/me", headers=dave["headers"])
    assert answered.status_code == 200
    assert answered.headers["X-RateLimit-Limit"] == str(API)
    assert answered.headers["X-RateLimit-Remaining"] == str(API - 1)
    assert "Retry-After" not in answered.headers  # it would read as "come back later"
    missing = client.get(f"/api/v1/sites/{uuid.uuid4()}", headers=dave["headers"])
    assert missing.status_code == 404 and "Retry-After" not in missing.headers


def test_retry_after_is_the_limiters_on_429_and_the_answers_own_otherwise(app, redis_db,
                                                                        tmp_path):
    from flask import redirect

    from chom.extensions import limiter

    limited = create_app(base_config(tmp_path, RATELIMIT_STORAGE_URI=TEST_REDIS_URL))
    answers = {
        "busy": lambda: ("", 503, {"Retry-After": "7"}),  # its own advice stands
        "down": lambda: ("", 503),  # none of its own: none at all
        "moved": lambda: redirect("/elsewhere"),
        "fine": lambda: "ok",
    }
    for name, answer in answers.items():
        limited.add_url_rule(f"/probe/{name}", name, limiter.limit("2/minute")(answer))
    client = limited.test_client()
    assert client.get("/probe/busy").headers["Retry-After"] == "7"
    for name in ("down", "moved", "fine"):
        answered = client.get(f"/probe/{name}")
        assert "X-RateLimit-Limit" in answered.headers  # counted by the limiter
        assert "Retry-After" not in answered.headers, name
    client.get("/probe/fine")
    refused = client.get("/probe/fine")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_a_503_without_advice_of_its_own_gets_none_from_the_limiter(clean_app, limited_app):
    client = limited_app.test_client()
    erin = _register(client, ip="10.0.5.4", tag="erin")
    answered = client.post("/api/v1/sites", headers=erin["headers"],
                           json={"domain": "nowhere.example.com", "type": "html"})
    assert answered.status_code == 503  # no VPS with room
    assert "X-RateLimit-Limit" in answered.headers
    assert "Retry-After" not in answered.headers


def test_api_limit_follows_the_user_across_addresses(limited_app):
    client = limited_app.test_client()
    carol = _register(client, ip="10.0.6.1", tag="carol")
    for i in range(API):
        response = client.get("/api/v1/sites", headers=carol["headers"],
                              environ_base={"REMOTE_ADDR": f"10.0.6.{10 + i}"})
        assert response.status_code == 200
    assert_rate_limited(client.get("/api/v1/sites", headers=carol["headers"],
                                   environ_base={"REMOTE_ADDR": "10.0.6.99"}))


def test_health_is_not_rate_limited(limited_app):
    client = limited_app.test_client()
    answers = {client.get("/api/v1/health").status_code for _ in range(API + AUTH + 2)}
    assert answers == {200}


# --- sensitive: per user ----------------------------------------------------------------------


def test_token_creation_is_on_the_sensitive_tier(limited_app):
    client = limited_app.test_client()
    dave = _register(client, ip="10.0.7.1", tag="dave")
    for i in range(SENSITIVE):
        response = client.post("/api/v1/tokens", json={"name": f"ci-{i}"},
                               headers=dave["headers"])
        assert response.status_code == 201
    assert_rate_limited(client.post("/api/v1/tokens", json={"name": "one-too-many"},
                                    headers=dave["headers"]))
    # Only the sensitive action is blocked: reading tokens is still on the API tier.
    listed = client.get("/api/v1/tokens", headers=dave["headers"])
    assert listed.status_code == 200
    assert {t["name"] for t in listed.get_json()["data"]} >= {"ci-0", "ci-1"}
    assert "one-too-many" not in {t["name"] for t in listed.get_json()["data"]}


def test_sensitive_limit_is_per_user(limited_app):
    client = limited_app.test_client()
    erin = _register(client, ip="10.0.8.1", tag="erin")
    frank = _register(client, ip="10.0.8.1", tag="frank")
    for i in range(SENSITIVE):
        client.post("/api/v1/tokens", json={"name": f"t{i}"}, headers=erin["headers"])
    assert client.post("/api/v1/tokens", json={"name": "x"},
                       headers=erin["headers"]).status_code == 429
    assert client.post("/api/v1/tokens", json={"name": "x"},
                       headers=frank["headers"]).status_code == 201


# --- storage ----------------------------------------------------------------------------------


def test_counters_live_in_redis(limited_app, redis_db):
    client = limited_app.test_client()
    grace = _register(client, ip="10.0.9.1", tag="grace")
    client.get("/api/v1/auth/me", headers=grace["headers"])
    client.post("/api/v1/tokens", json={"name": "k"}, headers=grace["headers"])
    keys = [key.decode() for key in redis_db.keys("*")]
    assert any("10.0.9.1" in key and "auth" in key for key in keys), keys
    user_keys = [key for key in keys if f"user:{grace['user_id']}" in key]
    assert any("api" in key for key in user_keys), keys
    assert any("sensitive" in key for key in user_keys), keys
    for key in keys:
        assert redis_db.ttl(key) > 0  # windows expire on their own


def test_flushing_redis_resets_the_counters(limited_app, redis_db):
    """The limiter keeps no count of its own in process memory: Redis is the state."""
    client = limited_app.test_client()
    account = _register(client, ip="10.0.10.1")
    for _ in range(AUTH):
        _login(client, account["email"], "10.0.10.2")
    assert _login(client, account["email"], "10.0.10.2").status_code == 429
    redis_db.flushdb()
    assert _login(client, account["email"], "10.0.10.2").status_code == 200


# --- log-in: per account, from any address ---------------------------------------------------


@pytest.fixture
def account_limited_app(app, redis_db, tmp_path):
    """Per-address limits out of the way; two log-in attempts per account per minute."""
    return create_app(base_config(
        tmp_path,
        CHOM_RATE_LIMIT_AUTH="1000/minute",
        CHOM_RATE_LIMIT_LOGIN_ACCOUNT="2/minute",
        RATELIMIT_STORAGE_URI=TEST_REDIS_URL,
    ))


def test_log_in_attempts_on_one_account_are_limited_whatever_the_address(account_limited_app):
    client = account_limited_app.test_client()
    target = _register(client, ip="10.0.9.1", tag="target")
    other = _register(client, ip="10.0.9.1", tag="other")
    wrong = {"email": target["email"].upper(), "password": "not the password!"}
    for n in range(2):
        attempt = client.post("/api/v1/auth/login", json=wrong,
                              environ_base={"REMOTE_ADDR": f"10.0.9.{10 + n}"})
        assert attempt.status_code == 401
    assert_rate_limited(_login(client, target["email"], "10.0.9.20"))  # a new address, too
    assert _login(client, other["email"], "10.0.9.20").status_code == 200


def test_the_console_log_in_is_limited_per_account_too(account_limited_app):
    client = account_limited_app.test_client()
    target = _register(client, ip="10.0.10.1", tag="console")
    for n in range(2):
        client.post("/login", data={"email": target["email"], "password": "wrong password!"},
                    environ_base={"REMOTE_ADDR": f"10.0.10.{10 + n}"})
    blocked = client.post("/login", data={"email": target["email"], "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.0.10.30"})
    assert blocked.status_code == 429
