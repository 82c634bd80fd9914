"""Tenants never see each other: every tenant-owned endpoint answers 404 to another tenant.

The walk below covers every /api/v1 route that takes an id; a new route with an id argument
that this file does not know makes the test fail until it is added here.
"""

import io
import zipfile

from tests.members import add_member

# Route argument → which of the victim's resources to put there.
ID_ARGUMENTS = {"site_id": "site", "operation_id": "operation", "token_id": "token",
                "tenant_id": "tenant", "backup_id": "backup",
                # A download link's token is a bearer credential (as a presigned S3 URL is):
                # one not issued by CHOM is what another tenant could try.
                "token": "forged_download"}


def _victim_resources(account) -> dict:
    created = account.create_site("victim.example.com")
    assert created.status_code == 202
    account.wait_for_operation(created.json["meta"]["operation_id"])
    token = account.post("/api/v1/tokens", json={"name": "victim"}).json["data"]
    site_id = created.json["data"]["id"]
    backup = account.post(f"/api/v1/sites/{site_id}/backups")
    assert backup.status_code == 202
    account.wait_for_operation(backup.json["meta"]["operation_id"])
    return {"site": site_id, "operation": created.json["meta"]["operation_id"],
            "token": token["id"], "tenant": account.tenant_id, "backup": backup.json["data"]["id"],
            "forged_download": "eyJrZXkiOiJ4In0.forged.signature"}


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _walk(app, client, headers, resources) -> list[tuple[str, str, int]]:
    answers = []
    for rule, method in _id_routes(app):
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<{argument}>", resources[ID_ARGUMENTS[argument]])
        # A valid body, so validation (which answers the same for any id) is not what stops it.
        if url.endswith("/content"):  # a valid upload, so only the scope can stop it
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as z:
                z.writestr("index.html", "walked")
            archive.seek(0)
            response = client.open(url, method=method, headers=headers,
                                   data={"archive": (archive, "walk.zip")},
                                   content_type="multipart/form-data")
        else:
            body = {"name": "Walked"} if method == "PATCH" else {}
            response = client.open(url, method=method, headers=headers, json=body)
        answers.append((method, url, response.status_code))
    return answers


def test_every_id_route_is_404_for_another_organization(clean_app, register, local_vps):
    alice, mallory = register("Alice Co"), register("Mallory Co")
    resources = _victim_resources(alice)
    answers = _walk(clean_app, mallory.client, mallory.headers, resources)
    assert len(answers) >= 16
    assert [a for a in answers if a[2] != 404] == []
    # ...and nothing of Alice leaked or changed.
    site = alice.get(f"/api/v1/sites/{resources['site']}")
    assert site.status_code == 200 and site.json["data"]["status"] == "active"
    backup = alice.get(f"/api/v1/sites/{resources['site']}/backups/{resources['backup']}")
    assert backup.status_code == 200 and backup.json["data"]["status"] == "succeeded"
    assert alice.get("/api/v1/tokens").status_code == 200


def test_lists_show_only_the_callers_tenant(register, local_vps):
    alice, mallory = register("Alice Co"), register("Mallory Co")
    _victim_resources(alice)
    assert mallory.get("/api/v1/sites").json["meta"]["total"] == 0
    assert [t["id"] for t in mallory.get("/api/v1/tenants").json["data"]] == [mallory.tenant_id]
    assert "victim" not in {t["name"] for t in mallory.get("/api/v1/tokens").json["data"]}


def test_choosing_another_organizations_tenant_is_404(register):
    alice, mallory = register("Alice Co"), register("Mallory Co")
    for header in (alice.tenant_id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = mallory.get("/api/v1/sites", headers={"X-Tenant-ID": header})
        assert response.status_code == 404, header
    assert mallory.get(f"/api/v1/sites?tenant={alice.tenant_id}").status_code == 404


def test_member_scoped_to_one_tenant_sees_nothing_of_another(clean_app, client, register,
                                                             local_vps):
    owner = register("Agency")
    second = owner.post("/api/v1/tenants", json={"name": "Client B"})
    assert second.status_code == 201
    tenant_b = second.json["data"]["id"]
    in_b = owner.create_site("b-client.example.com", headers={"X-Tenant-ID": tenant_b})
    assert in_b.status_code == 202
    owner.wait_for_operation(in_b.json["meta"]["operation_id"], headers={"X-Tenant-ID": tenant_b})

    member = add_member(clean_app, owner, "member", tenant_ids=[owner.tenant_id])
    headers = member["headers"]
    site_b = in_b.json["data"]["id"]
    backup_b = owner.post(f"/api/v1/sites/{site_b}/backups", headers={"X-Tenant-ID": tenant_b})
    assert backup_b.status_code == 202
    owner.wait_for_operation(backup_b.json["meta"]["operation_id"],
                             headers={"X-Tenant-ID": tenant_b})
    resources = {"site": site_b, "operation": in_b.json["meta"]["operation_id"],
                 "token": owner.post("/api/v1/tokens", json={"name": "o"}).json["data"]["id"],
                 "tenant": tenant_b, "backup": backup_b.json["data"]["id"],
                 "forged_download": "eyJrZXkiOiJ4In0.forged.signature"}
    answers = _walk(clean_app, client, headers, resources)
    assert [a for a in answers if a[2] != 404] == []
    assert client.get("/api/v1/sites", headers={**headers, "X-Tenant-ID": tenant_b}
                      ).status_code == 404
    reachable = client.get("/api/v1/tenants", headers=headers).json["data"]
    assert [t["id"] for t in reachable] == [owner.tenant_id]
    # The owner sees both tenants and the site in B.
    assert len(owner.get("/api/v1/tenants").json["data"]) == 2
    assert owner.get("/api/v1/sites", headers={"X-Tenant-ID": tenant_b}).json["meta"]["total"] == 1
