"""The audit log: every mutating action recorded; owner and admin read it, filtered."""

from datetime import UTC, datetime, timedelta

from tests.members import add_member


def test_mutations_are_recorded_with_who_what_where(clean_app, register, local_vps):
    owner = register("Audit Co")
    site = owner.create_site("audited.example.com", headers={"X-Correlation-ID": "corr-123"})
    owner.post("/api/v1/tokens", json={"name": "ci"})
    owner.delete(f"/api/v1/sites/{site.json['data']['id']}")

    entries = owner.get("/api/v1/audit-log").json
    actions = [e["action"] for e in entries["data"]]
    assert actions[:3] == ["site.delete", "token.created", "site.created"]
    created = next(e for e in entries["data"] if e["action"] == "site.created")
    assert created["actor_user_id"] == owner.user_id
    assert created["tenant_id"] == owner.tenant_id
    assert created["target_type"] == "site" and created["target_id"] == site.json["data"]["id"]
    assert created["correlation_id"] == "corr-123"
    assert created["details"]["domain"] == "audited.example.com"
    assert entries["meta"]["total"] == len(actions)


def test_filters_and_pagination(register, local_vps):
    owner = register("Audit Co")
    for n in range(3):
        owner.create_site(f"f{n}.example.com")
    owner.post("/api/v1/tokens", json={"name": "ci"})
    only_sites = owner.get("/api/v1/audit-log?action=site.").json
    assert {e["action"] for e in only_sites["data"]} == {"site.created"}
    page = owner.get("/api/v1/audit-log?per_page=2&page=2").json
    assert page["meta"] == {"page": 2, "per_page": 2, "total": 4} and len(page["data"]) == 2
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert owner.get("/api/v1/audit-log", query_string={"since": future}).json["meta"][
        "total"] == 0
    assert owner.get(f"/api/v1/audit-log?actor={owner.user_id}").json["meta"]["total"] == 4
    assert owner.get("/api/v1/audit-log?since=yesterday").status_code == 422


def test_only_owner_and_admin_read_it_and_never_another_organizations(clean_app, client,
                                                                      register, local_vps):
    owner, other = register("Audit Co"), register("Other Co")
    other.create_site("theirs.example.com")
    assert all(e["action"] != "site.created" for e in owner.get("/api/v1/audit-log").json["data"])
    for role, status in (("admin", 200), ("member", 403), ("viewer", 403)):
        member = add_member(clean_app, owner, role)
        assert client.get("/api/v1/audit-log", headers=member["headers"]).status_code == status
