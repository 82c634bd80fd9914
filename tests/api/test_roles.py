"""Roles in one policy layer: viewer reads, member manages sites, admin deletes sites and
manages tenants."""

import pytest

from tests.members import add_member, headers_for

EXPECTED = {
    # role: (list sites, create site, create tenant)
    "viewer": (200, 403, 403),
    "member": (200, 202, 403),
    "admin": (200, 202, 201),
    "owner": (200, 202, 201),
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_role_matrix(clean_app, client, register, local_vps, role):
    owner = register("Acme")
    headers = owner.headers if role == "owner" else add_member(clean_app, owner, role)["headers"]
    listed = client.get("/api/v1/sites", headers=headers).status_code
    created = client.post("/api/v1/sites", headers=headers,
                          json={"domain": f"{role}.example.com", "type": "html"}).status_code
    tenant = client.post("/api/v1/tenants", headers=headers, json={"name": "New"}).status_code
    assert (listed, created, tenant) == EXPECTED[role]


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_viewer_and_member_cannot_delete_a_site(clean_app, client, register, local_vps, role):
    owner = register("Acme")
    site = owner.create_site("keep.example.com").json["data"]
    member = add_member(clean_app, owner, role)
    response = client.delete(f"/api/v1/sites/{site['id']}", headers=member["headers"])
    assert response.status_code == 403
    assert response.json["type"].endswith("/forbidden")
    assert owner.get(f"/api/v1/sites/{site['id']}").json["data"]["status"] != "deleting"


def test_out_of_scope_is_404_even_for_a_role_that_may_not_act(clean_app, client, register,
                                                             local_vps):
    owner = register("Acme")
    site = owner.create_site("scoped.example.com").json["data"]
    other = register("Other")
    viewer = add_member(clean_app, other, "viewer")
    for method, path in (("DELETE", f"/api/v1/sites/{site['id']}"),
                         ("POST", f"/api/v1/sites/{site['id']}/suspend"),
                         ("PATCH", f"/api/v1/tenants/{owner.tenant_id}"),
                         ("DELETE", f"/api/v1/tenants/{owner.tenant_id}")):
        response = client.open(path, method=method, headers=viewer["headers"],
                               json={"name": "x"} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.status_code)


def test_admin_may_delete_a_site(clean_app, client, register, local_vps):
    owner = register("Acme")
    site = owner.create_site("gone.example.com").json["data"]
    admin = add_member(clean_app, owner, "admin")
    assert client.delete(f"/api/v1/sites/{site['id']}", headers=admin["headers"]).status_code == 202


# --- The team endpoints: every endpoint × (owner, admin, member, viewer, other tenant,
# anonymous). "other" is the owner of another organization; `{invitation}` and `{target}` (a
# member-role membership) are the first organization's.
ROLES = ("owner", "admin", "member", "viewer", "other", "anonymous")
TEAM_MATRIX = [
    # method, path, body, expected status per role in ROLES order
    ("GET", "/api/v1/members", None, (200, 200, 403, 403, 200, 401)),
    ("PATCH", "/api/v1/members/{target}", {"role": "viewer"}, (200, 200, 403, 403, 404, 401)),
    ("DELETE", "/api/v1/members/{target}", None, (204, 204, 403, 403, 404, 401)),
    ("POST", "/api/v1/members/{target}/ownership", None, (200, 403, 403, 403, 404, 401)),
    ("GET", "/api/v1/invitations", None, (200, 200, 403, 403, 200, 401)),
    ("POST", "/api/v1/invitations", {"email": "new@matrix.test", "role": "member"},
     (201, 201, 403, 403, 201, 401)),
    ("POST", "/api/v1/invitations/{invitation}/resend", None, (200, 200, 403, 403, 404, 401)),
    ("DELETE", "/api/v1/invitations/{invitation}", None, (204, 204, 403, 403, 404, 401)),
    ("GET", "/api/v1/organization", None, (200, 200, 200, 200, 200, 401)),
    ("PATCH", "/api/v1/organization", {"name": "Renamed"}, (200, 403, 403, 403, 200, 401)),
]


TEAM_CASES = [(method, path, body, role, status)
              for method, path, body, statuses in TEAM_MATRIX
              for role, status in zip(ROLES, statuses, strict=True)]


@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), TEAM_CASES,
                         ids=[f"{m} {p} {r}" for m, p, _, r, _ in TEAM_CASES])
def test_team_role_matrix(clean_app, client, register, method, path, body, role, expected):
    owner = register("Acme")
    target = add_member(clean_app, owner, "member")
    target_id = next(m["id"] for m in owner.get("/api/v1/members").json["data"]
                     if m["user"]["id"] == target["user_id"])
    invitation = owner.post("/api/v1/invitations", json={"email": "pending@matrix.test",
                                                         "role": "viewer"}).json["data"]["id"]
    headers = headers_for(clean_app, owner, register, role)
    url = path.format(target=target_id, invitation=invitation)
    response = client.open(url, method=method, headers=headers, json=body)
    assert response.status_code == expected, response.json


# Billing: everyone reads plans and their tenant's usage; only the owner manages billing.
BILLING_CALLS = (
    ("GET", "/api/v1/billing/plans", None),
    ("GET", "/api/v1/billing/usage", None),
    ("GET", "/api/v1/billing/subscription", None),
    ("GET", "/api/v1/billing/invoices", None),
    ("POST", "/api/v1/billing/portal", None),
    ("POST", "/api/v1/billing/checkout", {"plan": "pro"}),
)
BILLING_EXPECTED = {
    "viewer": (200, 200, 403, 403, 403, 403),
    "member": (200, 200, 403, 403, 403, 403),
    "admin": (200, 200, 403, 403, 403, 403),
    "owner": (200, 200, 200, 200, 200, 200),
    "anonymous": (401, 401, 401, 401, 401, 401),
}


@pytest.mark.parametrize("role", sorted(BILLING_EXPECTED))
def test_billing_role_matrix(clean_app, client, register, role):
    owner = register("Acme")
    if role == "anonymous":
        headers = {}
    else:
        headers = owner.headers if role == "owner" else add_member(clean_app, owner,
                                                                   role)["headers"]
    answers = tuple(client.open(path, method=method, headers=headers, json=body).status_code
                    for method, path, body in BILLING_CALLS)
    assert answers == BILLING_EXPECTED[role]
    if role != "owner":  # nothing reached Stripe for them
        assert owner.get("/api/v1/billing/usage").json["data"]["subscribed"] is False


def test_a_token_without_the_billing_ability_cannot_manage_billing(clean_app, client,
                                                                   register):
    owner = register("Acme")
    token = owner.post("/api/v1/tokens", json={"name": "sites only",
                                              "abilities": ["sites:read"]}).json["data"]
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.post("/api/v1/billing/portal", headers=headers).status_code == 403


OBSERVABILITY_EXPECTED = {
    # role: (site metrics, tenant alerts, create a silence, expire it)
    "viewer": (200, 200, 403, 403),
    "member": (200, 200, 201, 204),
    "admin": (200, 200, 201, 204),
    "owner": (200, 200, 201, 204),
}


@pytest.mark.parametrize("role", sorted(OBSERVABILITY_EXPECTED))
def test_observability_role_matrix(clean_app, observed_client, register, local_vps, role):
    """Every role reads metrics and alerts; silencing is for members and up (real stack)."""
    owner = register("Acme")
    created = owner.create_site(f"{role}-obs.example.com")
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    site = created.json["data"]["id"]
    headers = owner.headers if role == "owner" else add_member(clean_app, owner, role)["headers"]
    # The owner's silence, for the role to try to expire.
    silence = observed_client.post(f"/api/v1/sites/{site}/silences", headers=owner.headers,
                                   json={"minutes": 10, "comment": "owner's"}).json["data"]["id"]
    found = (
        observed_client.get(f"/api/v1/sites/{site}/metrics", headers=headers).status_code,
        observed_client.get("/api/v1/alerts", headers=headers).status_code,
        observed_client.post(f"/api/v1/sites/{site}/silences", headers=headers,
                             json={"minutes": 5, "comment": role}).status_code,
        observed_client.delete(f"/api/v1/sites/{site}/silences/{silence}",
                               headers=headers).status_code,
    )
    assert found == OBSERVABILITY_EXPECTED[role]


BACKUP_EXPECTED = {
    # role: (list backups, back up, restore, delete a backup)
    "viewer": (200, 403, 403, 403),
    "member": (200, 202, 202, 403),
    "admin": (200, 202, 202, 204),
    "owner": (200, 202, 202, 204),
}


@pytest.mark.parametrize("role", sorted(BACKUP_EXPECTED))
def test_backup_role_matrix(clean_app, client, register, local_vps, role):
    owner = register("Acme")
    created = owner.create_site("backed.example.com")
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    base = f"/api/v1/sites/{created.json['data']['id']}/backups"
    first = owner.post(base)
    owner.wait_for_operation(first.json["meta"]["operation_id"])
    backup_id = first.json["data"]["id"]
    headers = owner.headers if role == "owner" else add_member(clean_app, owner, role)["headers"]
    listed = client.get(base, headers=headers).status_code
    backed_up = client.post(base, headers=headers)
    if backed_up.status_code == 202:
        owner.wait_for_operation(backed_up.json["meta"]["operation_id"])
    restored = client.post(f"{base}/{backup_id}/restore", headers=headers, json={})
    if restored.status_code == 202:
        owner.wait_for_operation(restored.json["data"]["id"])
    deleted = client.delete(f"{base}/{backup_id}", headers=headers).status_code
    assert (listed, backed_up.status_code, restored.status_code, deleted) \
        == BACKUP_EXPECTED[role]
