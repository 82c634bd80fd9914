"""Helpers for console tests: logging a test client in, members who can log in."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.members import add_member


def log_in(client, email: str, password: str = PASSWORD, **extra):
    response = client.post("/login", data={"email": email, "password": password, **extra})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def member_client(app, owner, role: str, tenant_ids: list[str] | None = None):
    """A console client logged in as a new member of `owner`'s organization with `role`."""
    member = add_member(app, owner, role, tenant_ids, password=PASSWORD)
    client = app.test_client()
    log_in(client, member["email"])
    return client, member
