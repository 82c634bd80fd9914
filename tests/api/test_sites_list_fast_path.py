"""The site list's fast path (one-query token → actor, plain rows, plain serialiser) keeps every
guarantee of the slow one: same document as `SiteOut`, tenant scoping (count included), token
revocation, expiry, deactivation and membership removal effective on the very next request."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update

from chom.api.schemas import SiteOut
from chom.extensions import db
from chom.models import ApiToken, Membership, Site, User
from chom.models.scoping import unscoped
from chom.models.users import membership_tenants
from tests.members import add_member


def _insert_sites(app, tenant_id: str, count: int, prefix: str, vps_id=None) -> None:
    now = datetime.now(UTC)
    with app.app_context(), unscoped():
        db.session.execute(insert(Site.__table__), [
            {"id": uuid.uuid4(), "tenant_id": uuid.UUID(tenant_id),
             "domain": f"{prefix}{n}.example.com", "type": "html", "status": "active",
             "options": {}, "vps_id": vps_id, "ssl_enabled": n % 2 == 0,
             "ssl_expires_at": now + timedelta(days=n) if n % 2 == 0 else None,
             "created_at": now - timedelta(minutes=n), "updated_at": now}
            for n in range(count)
        ])
        db.session.commit()


def test_list_entries_are_exactly_what_site_out_dumps(clean_app, register, local_vps):
    account = register("Acme")
    created = account.create_site("shape.example.com")
    assert created.status_code == 202
    account.wait_for_operation(created.json["meta"]["operation_id"])  # no status change under us
    _insert_sites(clean_app, account.tenant_id, 2, "novps")  # no VPS, one with SSL
    listed = account.get("/api/v1/sites").json
    assert listed["meta"] == {"page": 1, "per_page": 25, "total": 3}
    with clean_app.app_context(), unscoped():
        for entry in listed["data"]:
            site = db.session.scalar(select(Site).where(Site.id == uuid.UUID(entry["id"])))
            assert entry == SiteOut().dump(site)
    # ...and the single-site endpoint (still marshmallow) agrees.
    shown = account.get(f"/api/v1/sites/{created.json['data']['id']}").json["data"]
    assert shown in listed["data"]
    assert {e["vps"]["name"] if e["vps"] else None for e in listed["data"]} == {
        "local-test", None}


def test_list_and_its_count_see_only_the_current_tenant(clean_app, register):
    alice, mallory = register("Alice Co"), register("Mallory Co")
    _insert_sites(clean_app, alice.tenant_id, 7, "alice")
    _insert_sites(clean_app, mallory.tenant_id, 3, "mallory")
    # A full page needs the count query: it must be scoped as well.
    page = alice.get("/api/v1/sites?per_page=2&page=1").json
    assert page["meta"]["total"] == 7
    assert all(s["domain"].startswith("alice") for s in page["data"])
    assert mallory.get("/api/v1/sites?per_page=3").json["meta"]["total"] == 3
    everything = mallory.get("/api/v1/sites?per_page=100").json["data"]
    assert sorted(s["domain"] for s in everything) == [f"mallory{n}.example.com" for n in range(3)]
    # Newest first, filters bound per request.
    assert [s["domain"] for s in alice.get("/api/v1/sites?per_page=3").json["data"]] == [
        "alice0.example.com", "alice1.example.com", "alice2.example.com"]
    assert alice.get("/api/v1/sites?status=deleted").json["meta"]["total"] == 0
    assert alice.get("/api/v1/sites?type=wordpress&per_page=1").json["meta"]["total"] == 0
    # Another organization's tenant cannot be chosen.
    assert alice.get("/api/v1/sites", headers={"X-Tenant-ID": mallory.tenant_id}).status_code == 404


def test_second_tenant_and_tenant_limited_members(clean_app, register):
    owner = register("Acme")
    second = owner.post("/api/v1/tenants", json={"name": "Second"}).json["data"]["id"]
    _insert_sites(clean_app, owner.tenant_id, 2, "first")
    _insert_sites(clean_app, second, 4, "second")
    assert owner.get("/api/v1/sites").json["meta"]["total"] == 2  # the first tenant by default
    chosen = owner.get("/api/v1/sites", headers={"X-Tenant-ID": second}).json
    assert chosen["meta"]["total"] == 4
    member = add_member(clean_app, owner, "member", tenant_ids=[second])
    client = owner.client
    listed = client.get("/api/v1/sites", headers=member["headers"]).json
    assert listed["meta"]["total"] == 4
    first_tenant = {**member["headers"], "X-Tenant-ID": owner.tenant_id}
    assert client.get("/api/v1/sites", headers=first_tenant).status_code == 404
    # Taking the tenant away works on the next request.
    with clean_app.app_context():
        db.session.execute(delete(membership_tenants))
        db.session.commit()
    assert client.get("/api/v1/sites", headers=member["headers"]).json["meta"]["total"] == 0
    assert client.get("/api/v1/sites", headers={**member["headers"], "X-Tenant-ID": second}
                      ).status_code == 404


def test_token_changes_stop_the_next_request(clean_app, register):
    owner = register("Acme")
    client = owner.client
    made = [owner.post("/api/v1/tokens", json={"name": f"t{n}"}).json["data"] for n in range(2)]
    revoked, expired = ({"Authorization": f"Bearer {t['token']}"} for t in made)
    for headers in (revoked, expired):
        assert client.get("/api/v1/sites", headers=headers).status_code == 200
    with clean_app.app_context():
        db.session.execute(update(ApiToken).where(ApiToken.id == uuid.UUID(made[0]["id"]))
                           .values(revoked_at=datetime.now(UTC)))
        db.session.execute(update(ApiToken).where(ApiToken.id == uuid.UUID(made[1]["id"]))
                           .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    assert client.get("/api/v1/sites", headers=revoked).status_code == 401
    assert client.get("/api/v1/sites", headers=expired).status_code == 401

    member = add_member(clean_app, owner, "admin")
    assert client.get("/api/v1/sites", headers=member["headers"]).status_code == 200
    with clean_app.app_context():
        db.session.execute(update(User).where(User.id == uuid.UUID(member["user_id"]))
                           .values(is_active=False))
        db.session.commit()
    assert client.get("/api/v1/sites", headers=member["headers"]).status_code == 401

    removed = add_member(clean_app, owner, "member")
    assert client.get("/api/v1/sites", headers=removed["headers"]).status_code == 200
    with clean_app.app_context():
        db.session.execute(delete(Membership).where(
            Membership.user_id == uuid.UUID(removed["user_id"])))
        db.session.commit()
    gone = client.get("/api/v1/sites", headers=removed["headers"])
    assert gone.status_code == 404  # as before: "This account belongs to no organization."
    assert gone.content_type == "application/problem+json"
    assert client.get("/api/v1/sites", headers=owner.headers).status_code == 200


def test_list_keeps_rate_limit_headers_and_roles(clean_app, register):
    owner = register("Acme")
    answer = owner.get("/api/v1/sites")
    assert answer.status_code == 200
    assert "X-RateLimit-Limit" in answer.headers
    viewer = add_member(clean_app, owner, "viewer")
    assert owner.client.get("/api/v1/sites", headers=viewer["headers"]).status_code == 200
    narrow = owner.post("/api/v1/tokens", json={"name": "ops", "abilities": ["operations:read"]})
    headers = {"Authorization": f"Bearer {narrow.json['data']['token']}"}
    assert owner.client.get("/api/v1/sites", headers=headers).status_code == 403


def test_openapi_still_documents_the_list(client):
    spec = client.get("/api/v1/openapi.json").json
    get = spec["paths"]["/api/v1/sites"]["get"]
    schema = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SiteList"}
    assert {p["name"] for p in get["parameters"]} >= {"page", "per_page", "status", "type"}
    site = spec["components"]["schemas"]["SiteOut"]["properties"]
    assert set(site) == {"id", "domain", "type", "status", "php_version", "vps", "ssl",
                         "created_at", "updated_at"}
