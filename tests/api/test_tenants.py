"""Tenants as a surface: list, show with usage, rename, delete only when empty."""

from tests.members import add_member


def test_show_reports_usage_against_the_plan(register, local_vps):
    owner = register("Agency")
    owner.create_site("one.example.com")
    tenant = owner.get(f"/api/v1/tenants/{owner.tenant_id}").json["data"]
    assert tenant["usage"] == {"sites": 1, "max_sites": 5}
    assert tenant["plan"] == "starter"


def test_admin_renames_member_may_not(clean_app, client, register):
    owner = register("Agency")
    renamed = owner.client.patch(f"/api/v1/tenants/{owner.tenant_id}", headers=owner.headers,
                                 json={"name": "Client A"})
    assert renamed.status_code == 200 and renamed.json["data"]["name"] == "Client A"
    assert owner.client.patch(f"/api/v1/tenants/{owner.tenant_id}", headers=owner.headers,
                              json={"name": ""}).status_code == 422
    member = add_member(clean_app, owner, "member")
    denied = client.patch(f"/api/v1/tenants/{owner.tenant_id}", headers=member["headers"],
                          json={"name": "Mine now"})
    assert denied.status_code == 403


def test_delete_refuses_a_tenant_with_sites_and_the_last_tenant(register, local_vps):
    owner = register("Agency")
    second = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    owner.create_site("b.example.com", headers={"X-Tenant-ID": second})
    busy = owner.delete(f"/api/v1/tenants/{second}")
    assert busy.status_code == 409 and busy.json["sites"] == ["b.example.com"]

    empty = owner.post("/api/v1/tenants", json={"name": "Client C"}).json["data"]["id"]
    assert owner.delete(f"/api/v1/tenants/{empty}").status_code == 204
    assert owner.get(f"/api/v1/tenants/{empty}").status_code == 404
    assert empty not in {t["id"] for t in owner.get("/api/v1/tenants").json["data"]}

    third = register("Solo")
    last = third.delete(f"/api/v1/tenants/{third.tenant_id}")
    assert last.status_code == 409 and "at least one tenant" in last.json["detail"]
