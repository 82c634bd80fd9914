"""Errors are RFC 9457 problem+json everywhere; every response carries X-Correlation-ID."""

from __future__ import annotations

import re

import pytest

from chom import create_app
from tests.conftest import base_config

PROBLEM = "application/problem+json"
WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def assert_problem(response, status: int) -> dict:
    """The response is a problem document for `status`; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- Routing errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/no-such-page"])
def test_unknown_url_is_a_404_problem(client, path):
    body = assert_problem(client.get(path), 404)
    assert body["title"] == "Not Found"
    assert body["type"].endswith("/not-found")


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.put("/api/v1/sites", json={})
    body = assert_problem(response, 405)
    assert body["type"].endswith("/method-not-allowed")
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PUT" not in allowed


def test_wrong_method_on_a_console_page_is_a_problem_too(client):
    response = client.get("/logout")
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


# --- Request bodies ---------------------------------------------------------------------------


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/api/v1/auth/login", data='{"email": "a@b.test",',
                           content_type="application/json")
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]


def test_a_json_list_body_is_a_422_problem(client):
    response = client.post("/api/v1/auth/login", json=[{"email": "a@b.test"}])
    body = assert_problem(response, 422)
    assert isinstance(body["errors"], dict) and body["errors"]


def test_unknown_field_is_a_422_with_errors_by_field(client):
    response = client.post("/api/v1/auth/login", json={
        "email": "a@b.test", "password": "whatever-it-is", "colour": "blue",
    })
    body = assert_problem(response, 422)
    assert body["type"].endswith("/validation-failed")
    assert set(body["errors"]) == {"colour"}
    assert body["errors"]["colour"]
    assert all(isinstance(message, str) for message in body["errors"]["colour"])


def test_missing_required_fields_are_each_named(client):
    response = client.post("/api/v1/auth/register", json={"organization": "Acme"})
    body = assert_problem(response, 422)
    assert {"name", "email", "password"} <= set(body["errors"])
    for messages in body["errors"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)


def test_service_validation_errors_use_the_same_shape(client):
    """A weak password is refused by the service layer, answered like a schema error."""
    response = client.post("/api/v1/auth/register", json={
        "organization": "Acme", "name": "Owner", "email": "weak@acme.test", "password": "short",
    })
    body = assert_problem(response, 422)
    assert list(body["errors"]) == ["password"]
    assert body["errors"]["password"]


# --- Authentication ---------------------------------------------------------------------------


def test_missing_bearer_is_a_401_problem_with_www_authenticate(client):
    response = client.get("/api/v1/sites")
    body = assert_problem(response, 401)
    assert body["type"].endswith("/not-authenticated")
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_unknown_bearer_is_a_401_problem(client):
    response = client.get("/api/v1/auth/me",
                          headers={"Authorization": "Bearer chom_not-a-real-token"})
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers


# --- Unhandled exceptions ---------------------------------------------------------------------


@pytest.fixture
def exploding_app(app, tmp_path):
    """A separate app with test-only routes that raise (registered before any request)."""
    boom_app = create_app(base_config(tmp_path))

    @boom_app.route("/api/v1/_test/explode")
    def explode_api():
        raise RuntimeError("internal secret: s3cr3t-token-value")

    @boom_app.route("/_test/explode")
    def explode_page():
        raise KeyError("another-s3cr3t")

    return boom_app


@pytest.mark.parametrize("path", ["/api/v1/_test/explode", "/_test/explode"])
def test_unhandled_exception_is_a_500_problem_without_traceback(exploding_app, path):
    response = exploding_app.test_client().get(path)
    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "s3cr3t" not in text
    assert "Error" not in body["detail"]  # no exception class names either
    assert body["type"].endswith("/internal-error")


def test_unhandled_exception_response_still_has_the_correlation_id(exploding_app):
    response = exploding_app.test_client().get(
        "/api/v1/_test/explode", headers={"X-Correlation-ID": "trace-500"}
    )
    assert response.status_code == 500
    assert response.headers["X-Correlation-ID"] == "trace-500"


# --- X-Correlation-ID -------------------------------------------------------------------------


SUCCESS = ("GET", "/api/v1/health", 200)
ERROR = ("GET", "/api/v1/sites", 401)


@pytest.mark.parametrize(("method", "path", "status"), [SUCCESS, ERROR])
def test_well_formed_correlation_id_is_echoed(client, method, path, status):
    sent = "req-42.abc:DEF_9"
    response = client.open(path, method=method, headers={"X-Correlation-ID": sent})
    assert response.status_code == status
    assert response.headers["X-Correlation-ID"] == sent


@pytest.mark.parametrize(("method", "path", "status"), [SUCCESS, ERROR])
@pytest.mark.parametrize("sent", ["has spaces in it", "x" * 200, "semi;colon", "<script>"])
def test_malformed_correlation_id_is_replaced(client, method, path, status, sent):
    response = client.open(path, method=method, headers={"X-Correlation-ID": sent})
    assert response.status_code == status
    given = response.headers["X-Correlation-ID"]
    assert given != sent
    assert WELL_FORMED_ID.match(given)


@pytest.mark.parametrize(("method", "path", "status"), [SUCCESS, ERROR])
def test_correlation_id_is_generated_when_absent(client, method, path, status):
    first = client.open(path, method=method)
    second = client.open(path, method=method)
    assert first.status_code == second.status_code == status
    ids = [first.headers["X-Correlation-ID"], second.headers["X-Correlation-ID"]]
    assert all(WELL_FORMED_ID.match(value) for value in ids)
    assert ids[0] != ids[1]


def test_correlation_id_on_404_and_405_problems(client):
    not_found = client.get("/api/v1/nowhere", headers={"X-Correlation-ID": "nf-1"})
    wrong_method = client.patch("/api/v1/health", headers={"X-Correlation-ID": "wm-1"})
    assert (not_found.status_code, wrong_method.status_code) == (404, 405)
    assert not_found.headers["X-Correlation-ID"] == "nf-1"
    assert wrong_method.headers["X-Correlation-ID"] == "wm-1"


def test_correlation_id_of_a_64_character_value_is_kept(client):
    sent = "a" * 64
    response = client.get("/api/v1/health", headers={"X-Correlation-ID": sent})
    assert response.headers["X-Correlation-ID"] == sent
