"""The API opens no cookie session: bearer tokens authenticate it, and its answers neither set
nor vary on cookies. The console's sessions are untouched."""

from __future__ import annotations

from tests.web.console import log_in


def test_api_answers_neither_set_nor_vary_on_cookies(client, register):
    owner = register()
    answered = owner.get("/api/v1/sites")
    assert answered.status_code == 200
    assert "Set-Cookie" not in answered.headers
    assert "Cookie" not in answered.headers.get("Vary", "")


def test_a_console_session_does_not_reach_the_api(client, register):
    owner = register()
    assert log_in(client, owner.email).status_code == 302
    assert client.get_cookie("session") is not None
    assert client.get("/dashboard").status_code == 200  # the console knows the session
    answered = client.get("/api/v1/sites")  # the same cookie, no token
    assert answered.status_code == 401
    assert answered.mimetype == "application/problem+json"
    assert "Set-Cookie" not in answered.headers
    assert client.get("/dashboard").status_code == 200  # and the session is still there
