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


def _set_scope(app, user_id, tenant_ids, *, all_tenants=False):
    import uuid

    from sqlalchemy import select

    from chom.extensions import db
    from chom.models import Membership, Tenant

    with app.app_context():
        membership = db.session.scalar(select(Membership).where(
            Membership.user_id == uuid.UUID(user_id)))
        membership.all_tenants = all_tenants
        membership.tenants = list(db.session.scalars(select(Tenant).where(
            Tenant.id.in_([uuid.UUID(t) for t in tenant_ids]))))
        db.session.commit()


def test_narrowing_a_scope_takes_effect_on_the_tokens_next_request(clean_app, client,
                                                                   register, local_vps):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    member = add_member(clean_app, owner, "member", tenant_ids=[owner.tenant_id, tenant_b])
    in_b = {**member["headers"], "X-Tenant-ID": tenant_b}
    assert client.get("/api/v1/sites", headers=in_b).status_code == 200

    _set_scope(clean_app, member["user_id"], [owner.tenant_id])
    assert client.get("/api/v1/sites", headers=in_b).status_code == 404
    assert client.get(f"/api/v1/tenants/{tenant_b}", headers=member["headers"]).status_code \
        == 404
    assert client.get("/api/v1/sites", headers=member["headers"]).status_code == 200


def test_an_owner_always_reaches_every_tenant(clean_app, register):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    _set_scope(clean_app, owner.user_id, [owner.tenant_id])  # an attempt to narrow an owner
    assert owner.get("/api/v1/sites", headers={"X-Tenant-ID": tenant_b}).status_code == 200
    assert len(owner.get("/api/v1/tenants").json["data"]) == 2
