"""Tenants never see each other: every tenant-owned endpoint answers 404 to another tenant.

The walk below covers every /api/v1 route that takes an id; a new route with an id argument
that this file does not know makes the test fail until it is added here.
"""

import io
import uuid
import zipfile

from tests.members import add_member

# Route argument → which of the victim's resources to put there.
ID_ARGUMENTS = {"site_id": "site", "operation_id": "operation", "token_id": "token",
                "tenant_id": "tenant", "invitation_id": "invitation", "member_id": "member",
                "channel_id": "channel", "silence_id": "silence", "backup_id": "backup",
                # A download link's token is a bearer credential (as a presigned S3 URL is):
                # one not issued by CHOM is what another tenant could try.
                "token": "forged_download"}
# A valid body per route (by path suffix), so validation is not what stops the request.
PATCH_BODIES = {"/members/": {"role": "viewer"}, "/notification-channels/": {"enabled": False}}
# Route arguments that name no tenant-owned resource: a backend of the platform's stack, a VPS
# of the fleet (operators only: the role matrix holds every organization role to 403), a
# deploy hook's secret (no scope: the secret names its site; tests/api/test_deploy_hooks.py).
NOT_TENANT_OWNED = {"component", "vps_id", "hook_token"}


def _victim_resources(account) -> dict:
    created = account.create_site("victim.example.com")
    assert created.status_code == 202
    account.wait_for_operation(created.json["meta"]["operation_id"])
    token = account.post("/api/v1/tokens", json={"name": "victim"}).json["data"]
    site_id = created.json["data"]["id"]
    backup = account.post(f"/api/v1/sites/{site_id}/backups")
    assert backup.status_code == 202
    account.wait_for_operation(backup.json["meta"]["operation_id"])
    # A silence lives in Alertmanager, under its site: without the stack, the site alone must
    # stop the call (the walk with the observability stack below uses a real silence).
    return {"site": site_id, "operation": created.json["meta"]["operation_id"],
            "token": token["id"], "tenant": account.tenant_id, "silence": str(uuid.uuid4()),
            "backup": backup.json["data"]["id"],
            "forged_download": "eyJrZXkiOiJ4In0.forged.signature",
            **_organization_resources(account)}


def _organization_resources(account) -> dict:
    """Organization-owned resources: a pending invitation, the owner's membership and a
    notification channel."""
    invitation = account.post("/api/v1/invitations", json={"email": "invitee@victim.test",
                                                           "role": "member"})
    assert invitation.status_code == 201
    channel = account.post("/api/v1/notification-channels", json={
        "kind": "webhook", "target": "http://127.0.0.1:9/victim"})
    assert channel.status_code == 201
    return {"invitation": invitation.json["data"]["id"],
            "member": account.get("/api/v1/members").json["data"][0]["id"],
            "channel": channel.json["data"]["id"]}


def _id_routes(app, only_endpoints: str = ""):
    for rule in app.url_map.iter_rules():
        if (rule.rule.startswith("/api/v1/") and rule.arguments - NOT_TENANT_OWNED
                and rule.endpoint.startswith(only_endpoints)):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _walk(app, client, headers, resources, only_endpoints: str = "") -> list[tuple[str, str, int]]:
    answers = []
    for rule, method in _id_routes(app, only_endpoints):
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
        elif url.endswith("/silences") and method == "POST":
            response = client.open(url, method=method, headers=headers,
                                   json={"minutes": 5, "comment": "walked"})
        else:
            body = next((b for part, b in PATCH_BODIES.items() if part in url),
                        {"name": "Walked"}) if method == "PATCH" else {}
            response = client.open(url, method=method, headers=headers, json=body)
        answers.append((method, url, response.status_code))
    return answers


def test_every_id_route_is_404_for_another_organization(clean_app, register, local_vps):
    alice, mallory = register("Alice Co"), register("Mallory Co")
    resources = _victim_resources(alice)
    answers = _walk(clean_app, mallory.client, mallory.headers, resources)
    assert len(answers) >= 20
    assert [a for a in answers if a[2] != 404] == []
    # ...and nothing of Alice leaked or changed.
    site = alice.get(f"/api/v1/sites/{resources['site']}")
    assert site.status_code == 200 and site.json["data"]["status"] == "active"
    backup = alice.get(f"/api/v1/sites/{resources['site']}/backups/{resources['backup']}")
    assert backup.status_code == 200 and backup.json["data"]["status"] == "succeeded"
    assert alice.get("/api/v1/tokens").status_code == 200
    channel = alice.get(f"/api/v1/notification-channels/{resources['channel']}").json["data"]
    assert channel["enabled"] is True
    assert [i["id"] for i in alice.get("/api/v1/invitations").json["data"]] \
        == [resources["invitation"]]
    assert alice.get("/api/v1/members").json["data"][0]["role"] == "owner"


def test_observability_routes_are_404_for_another_organization(observed_app, observed_client,
                                                               register, local_vps):
    """With real backends behind them, so nothing reaches a backend before the scope says no:
    a real silence of the victim's site cannot be read or expired by another organization."""
    alice, mallory = register("Alice Co"), register("Mallory Co")
    resources = _victim_resources(alice)
    silence = observed_client.post(f"/api/v1/sites/{resources['site']}/silences",
                                   headers=alice.headers,
                                   json={"minutes": 30, "comment": "victim's"})
    assert silence.status_code == 201, silence.json
    resources["silence"] = silence.json["data"]["id"]
    answers = _walk(observed_app, observed_client, mallory.headers, resources, "observability.")
    assert len(answers) >= 6
    assert [a for a in answers if a[2] != 404] == []
    # Mallory's own site cannot reach Alice's silence either.
    own = mallory.create_site("mallory.example.com").json["data"]["id"]
    expire = observed_client.delete(f"/api/v1/sites/{own}/silences/{resources['silence']}",
                                    headers=mallory.headers)
    assert expire.status_code == 404
    assert observed_client.get("/api/v1/alerts", headers=mallory.headers).json["data"] == []
    still = observed_client.get(f"/api/v1/sites/{resources['site']}/silences",
                                headers=alice.headers).json["data"]
    assert [s["id"] for s in still] == [resources["silence"]]


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
    # Invitations, memberships and channels belong to the organization, not to a tenant: the ones
    # walked here are another organization's.
    resources = {"site": site_b, "operation": in_b.json["meta"]["operation_id"],
                 "token": owner.post("/api/v1/tokens", json={"name": "o"}).json["data"]["id"],
                 "tenant": tenant_b, "silence": str(uuid.uuid4()),
                 "backup": backup_b.json["data"]["id"],
                 "forged_download": "eyJrZXkiOiJ4In0.forged.signature",
                 **_organization_resources(register("Elsewhere"))}
    answers = _walk(clean_app, client, headers, resources)
    assert [a for a in answers if a[2] != 404] == []
    assert client.get("/api/v1/sites", headers={**headers, "X-Tenant-ID": tenant_b}
                      ).status_code == 404
    reachable = client.get("/api/v1/tenants", headers=headers).json["data"]
    assert [t["id"] for t in reachable] == [owner.tenant_id]
    # The owner sees both tenants and the site in B.
    assert len(owner.get("/api/v1/tenants").json["data"]) == 2
    assert owner.get("/api/v1/sites", headers={"X-Tenant-ID": tenant_b}).json["meta"]["total"] == 1


def test_billing_never_reaches_another_organizations_tenant(clean_app, register,
                                                            stripe_server):
    from tests.billing_helpers import subscribe

    alice, mallory = register("Alice Co"), register("Mallory Co")
    subscribe(clean_app, alice, stripe_server.fake, "pro")
    foreign = {"X-Tenant-ID": alice.tenant_id}
    for method, path, body in (("GET", "/api/v1/billing/usage", None),
                               ("GET", "/api/v1/billing/subscription", None),
                               ("GET", "/api/v1/billing/invoices", None),
                               ("POST", "/api/v1/billing/portal", None),
                               ("POST", "/api/v1/billing/checkout", {"plan": "starter"})):
        answer = mallory.client.open(path, method=method, json=body,
                                     headers={**mallory.headers, **foreign})
        assert answer.status_code == 404, (method, path, answer.status_code)
    # Mallory's own views show only Mallory's tenant, and Alice's plan is untouched.
    view = mallory.get("/api/v1/billing/subscription").json["data"]
    assert [t["tenant_id"] for t in view["tenants"]] == [mallory.tenant_id]
    assert view["status"] == "trialing" and mallory.get("/api/v1/billing/invoices"
                                                        ).json["data"] == []
    assert alice.get("/api/v1/billing/usage").json["data"]["plan"] == "pro"


def test_billing_of_a_tenant_outside_a_members_reach_is_404(clean_app, client, register):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    member = add_member(clean_app, owner, "member", tenant_ids=[owner.tenant_id])
    answer = client.get("/api/v1/billing/usage",
                        headers={**member["headers"], "X-Tenant-ID": tenant_b})
    assert answer.status_code == 404
    mine = client.get("/api/v1/billing/usage", headers=member["headers"]).json["data"]
    assert mine["tenant_id"] == owner.tenant_id
