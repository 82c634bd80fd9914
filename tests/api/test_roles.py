"""Roles in one policy layer: viewer reads, member manages sites, admin manages tenants."""

import pytest

from tests.members import add_member

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


def test_viewer_cannot_delete_a_site(clean_app, client, register, local_vps):
    owner = register("Acme")
    site = owner.create_site("keep.example.com").json["data"]
    viewer = add_member(clean_app, owner, "viewer")
    response = client.delete(f"/api/v1/sites/{site['id']}", headers=viewer["headers"])
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
