"""Every /api/v1 endpoint × every role: owner, admin, member, viewer, another organization's
owner ("other") and no token ("anonymous"), against the status each must get.

Each role gets a world of its own (one organization with sites, a second tenant, members, an
invitation, a channel ...), and calls every endpoint in the order of `MATRIX`, destructive
calls last. A route that `MATRIX` does not list, and that is not in `ELSEWHERE` with the test
that covers it, fails `test_the_matrix_lists_every_endpoint` until it is added.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.members import add_member, headers_for

ROLES = ("owner", "admin", "member", "viewer", "other", "anonymous")

# Endpoints whose role checks need a part of their own, and the test that walks them.
ELSEWHERE = {
    ("GET", "/api/v1/sites/<site_id>/metrics"): "test_roles.test_observability_role_matrix",
    ("GET", "/api/v1/sites/<site_id>/logs"): "tests/observability (real stack)",
    ("GET", "/api/v1/alerts"): "test_roles.test_observability_role_matrix",
    ("GET", "/api/v1/sites/<site_id>/alerts"): "tests/observability (real stack)",
    ("GET", "/api/v1/sites/<site_id>/silences"): "tests/observability (real stack)",
    ("POST", "/api/v1/sites/<site_id>/silences"): "test_roles.test_observability_role_matrix",
    ("DELETE", "/api/v1/sites/<site_id>/silences/<silence_id>"):
        "test_roles.test_observability_role_matrix",
    ("POST", "/api/v1/webhooks/stripe"): "test_stripe_webhooks (signed by Stripe, no role)",
    ("POST", "/api/v1/webhooks/alertmanager"): "test_alertmanager_webhook (bearer, no role)",
    ("POST", "/api/v1/auth/register"): "test_auth (creates an organization: no role)",
    ("POST", "/api/v1/auth/login"): "test_auth (no role yet)",
    ("POST", "/api/v1/auth/password/forgot"): "test_password_reset (no role)",
    ("POST", "/api/v1/auth/password/reset"): "test_password_reset (no role)",
    ("POST", "/api/v1/invitations/accept"): "test_invitations (the link is the proof)",
    ("POST", "/api/v1/deploy-hooks/<hook_token>"):
        "test_deploy_hooks and e2e/test_laravel_git (the URL is the credential)",
}

# method, route, body, statuses in ROLES order. `<argument>` is filled with the world's resource
# of that name, `<argument:name>` with the resource `name` instead.
MATRIX = [
    ("GET", "/api/v1/health", None, (200, 200, 200, 200, 200, 200)),
    # The fleet is the platform operators' (a flag on the user): no organization role opens it.
    ("GET", "/api/v1/fleet", None, (403, 403, 403, 403, 403, 401)),
    ("GET", "/api/v1/fleet/<vps_id>/metrics", None, (403, 403, 403, 403, 403, 401)),
    # Refused before any connection is made (tests/api/test_fleet_api.py counts them).
    ("POST", "/api/v1/fleet", {"name": "matrix-{role}", "host": "127.0.0.1", "port": 1},
     (403, 403, 403, 403, 403, 401)),
    ("POST", "/api/v1/fleet/<vps_id>/check", None, (403, 403, 403, 403, 403, 401)),
    ("GET", "/api/v1/openapi.json", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/observability/health", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/observability/health/<component>", None, (404,) * 6),
    ("GET", "/api/v1/auth/me", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/organization", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/sites", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/sites/<site_id>", None, (200, 200, 200, 200, 404, 401)),
    ("GET", "/api/v1/sites/<site_id>/operations", None, (200, 200, 200, 200, 404, 401)),
    ("GET", "/api/v1/operations/<operation_id>", None, (200, 200, 200, 200, 404, 401)),
    ("GET", "/api/v1/sites/<site_id>/backups", None, (200, 200, 200, 200, 404, 401)),
    ("GET", "/api/v1/sites/<site_id>/backups/<backup_id>", None, (200, 200, 200, 200, 404, 401)),
    # The signed link is the credential (as a presigned S3 URL is): the same for everyone.
    ("GET", "/api/v1/backup-downloads/<token>", None, (200,) * 6),
    ("GET", "/api/v1/tenants", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/tenants/<tenant_id>", None, (200, 200, 200, 200, 404, 401)),
    ("GET", "/api/v1/tokens", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/audit-log", None, (200, 200, 403, 403, 200, 401)),
    ("GET", "/api/v1/members", None, (200, 200, 403, 403, 200, 401)),
    ("GET", "/api/v1/invitations", None, (200, 200, 403, 403, 200, 401)),
    ("GET", "/api/v1/notification-events", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/notification-channels", None, (200, 200, 403, 403, 200, 401)),
    ("GET", "/api/v1/notification-channels/<channel_id>", None, (200, 200, 403, 403, 404, 401)),
    ("GET", "/api/v1/billing/plans", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/billing/usage", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/billing/subscription", None, (200, 403, 403, 403, 200, 401)),
    ("GET", "/api/v1/billing/invoices", None, (200, 403, 403, 403, 200, 401)),
    ("POST", "/api/v1/billing/portal", None, (200, 403, 403, 403, 200, 401)),
    ("POST", "/api/v1/billing/checkout", {"plan": "pro"}, (200, 403, 403, 403, 200, 401)),
    ("POST", "/api/v1/auth/2fa/setup", None, (200, 200, 200, 200, 200, 401)),
    ("POST", "/api/v1/auth/2fa/enable", {"otp": "000000"}, (422, 422, 422, 422, 422, 401)),
    ("POST", "/api/v1/auth/2fa/disable", {"otp": "000000"}, (409, 409, 409, 409, 409, 401)),
    ("POST", "/api/v1/tokens", {"name": "matrix"}, (201, 201, 201, 201, 201, 401)),
    ("POST", "/api/v1/sites", {"domain": "new-{role}.example.com", "type": "html"},
     (202, 202, 202, 403, 202, 401)),
    ("POST", "/api/v1/sites/bulk",
     {"sites": [{"domain": "bulk-{role}.example.com", "type": "html"}]},
     (202, 202, 202, 403, 202, 401)),
    ("POST", "/api/v1/sites/<site_id>/content", "archive", (202, 202, 202, 403, 404, 401)),
    ("POST", "/api/v1/sites/<site_id>/ssl", None, (202, 202, 202, 403, 404, 401)),
    ("POST", "/api/v1/sites/<site_id>/retry", None, (409, 409, 409, 403, 404, 401)),
    # The world's site is an HTML site: it has nothing to deploy.
    ("POST", "/api/v1/sites/<site_id>/deploy", None, (409, 409, 409, 403, 404, 401)),
    ("POST", "/api/v1/sites/<site_id>/deploy-hook", None, (409, 409, 409, 403, 404, 401)),
    ("DELETE", "/api/v1/sites/<site_id>/deploy-hook", None, (404, 404, 404, 403, 404, 401)),
    ("POST", "/api/v1/sites/<site_id>/suspend", None, (202, 202, 202, 403, 404, 401)),
    ("POST", "/api/v1/sites/<site_id:suspended_id>/resume", None, (202, 202, 202, 403, 404, 401)),
    ("POST", "/api/v1/sites/<site_id>/backups/<backup_id>/restore",
     {"target": {"domain": "clone-{role}.example.com"}}, (202, 202, 202, 403, 404, 401)),
    ("POST", "/api/v1/sites/<site_id>/backups", None, (202, 202, 202, 403, 404, 401)),
    ("POST", "/api/v1/tenants", {"name": "Matrix"}, (201, 201, 403, 403, 201, 401)),
    ("PATCH", "/api/v1/tenants/<tenant_id>", {"name": "Renamed"},
     (200, 200, 403, 403, 404, 401)),
    ("POST", "/api/v1/notification-channels",
     {"kind": "webhook", "target": "http://127.0.0.1:9/matrix"}, (201, 201, 403, 403, 201, 401)),
    ("PATCH", "/api/v1/notification-channels/<channel_id>", {"enabled": False},
     (200, 200, 403, 403, 404, 401)),
    ("POST", "/api/v1/notification-channels/<channel_id>/test", None,
     (202, 202, 403, 403, 404, 401)),
    ("POST", "/api/v1/invitations", {"email": "invitee@matrix.test", "role": "member"},
     (201, 201, 403, 403, 201, 401)),
    ("POST", "/api/v1/invitations/<invitation_id>/resend", None, (200, 200, 403, 403, 404, 401)),
    ("PATCH", "/api/v1/members/<member_id>", {"role": "viewer"}, (200, 200, 403, 403, 404, 401)),
    ("PATCH", "/api/v1/organization", {"name": "Renamed Co"}, (200, 403, 403, 403, 200, 401)),
    # Destructive calls last.
    ("DELETE", "/api/v1/notification-channels/<channel_id>", None,
     (204, 204, 403, 403, 404, 401)),
    ("DELETE", "/api/v1/invitations/<invitation_id>", None, (204, 204, 403, 403, 404, 401)),
    ("DELETE", "/api/v1/tokens/<token_id>", None, (204, 204, 204, 204, 404, 401)),
    ("DELETE", "/api/v1/tenants/<tenant_id>", None, (204, 204, 403, 403, 404, 401)),
    ("DELETE", "/api/v1/sites/<site_id>/backups/<backup_id:old_backup_id>", None,
     (204, 204, 403, 403, 404, 401)),
    ("DELETE", "/api/v1/sites/<site_id>", None, (202, 202, 403, 403, 404, 401)),
    ("DELETE", "/api/v1/members/<member_id>", None, (204, 204, 403, 403, 404, 401)),
    ("POST", "/api/v1/members/<member_id:heir_id>/ownership", None, (200, 403, 403, 403, 404, 401)),
]


def _archive() -> dict:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("index.html", "<h1>matrix</h1>")
    data.seek(0)
    return {"archive": (data, "site.zip")}


def _for_role(body, role: str):
    """`body` with `{role}` in its strings filled in (domains differ per role)."""
    if isinstance(body, str):
        return body.format(role=role)
    if isinstance(body, dict):
        return {key: _for_role(value, role) for key, value in body.items()}
    if isinstance(body, list):
        return [_for_role(value, role) for value in body]
    return body


def _world(clean_app, register, role) -> tuple[dict, dict]:
    """Acme's resources, and the headers `role` calls with."""
    owner = register("Acme")
    site = owner.create_site("matrix.example.com")
    owner.wait_for_operation(site.json["meta"]["operation_id"])
    suspended = owner.create_site("paused.example.com").json
    owner.wait_for_operation(suspended["meta"]["operation_id"])
    owner.wait_for_operation(
        owner.post(f"/api/v1/sites/{suspended['data']['id']}/suspend").json["data"]["id"])
    backups = []
    for _ in range(2):  # one to read and restore, one to delete
        started = owner.post(f"/api/v1/sites/{site.json['data']['id']}/backups").json
        owner.wait_for_operation(started["meta"]["operation_id"])
        backups.append(started["data"]["id"])
    shown = owner.get(f"/api/v1/sites/{site.json['data']['id']}/backups/{backups[0]}").json
    first_part = next(iter(shown["data"]["download_urls"].values()))
    download = first_part.split("/api/v1/backup-downloads/")[1]
    empty_tenant = owner.post("/api/v1/tenants", json={"name": "Empty"}).json["data"]["id"]
    channel = owner.post("/api/v1/notification-channels", json={
        "kind": "webhook", "target": "http://127.0.0.1:9/acme"}).json["data"]["id"]
    invitation = owner.post("/api/v1/invitations", json={
        "email": "pending@acme.test", "role": "viewer"}).json["data"]["id"]
    target, heir = add_member(clean_app, owner, "member"), add_member(clean_app, owner, "member")
    members = {m["user"]["id"]: m["id"] for m in owner.get("/api/v1/members").json["data"]}
    headers = headers_for(clean_app, owner, register, role)
    # A token of the caller's own to revoke (another organization's caller: Acme's owner's).
    own = headers if role in ("owner", "admin", "member", "viewer") else owner.headers
    token = clean_app.test_client().post("/api/v1/tokens", headers=own,
                                         json={"name": "to revoke"}).json["data"]["id"]
    return {
        "site_id": site.json["data"]["id"], "suspended_id": suspended["data"]["id"],
        "operation_id": site.json["meta"]["operation_id"], "tenant_id": empty_tenant,
        "channel_id": channel, "invitation_id": invitation, "token_id": token,
        "member_id": members[target["user_id"]], "heir_id": members[heir["user_id"]],
        "component": "no-such-backend", "backup_id": backups[0], "old_backup_id": backups[1],
        "token": download,
    }, headers


@pytest.fixture
def matrix_app(clean_app, monkeypatch):
    # Certificates are asked of a CA that is not there: only the request's answer matters.
    monkeypatch.setitem(clean_app.config, "ACME_DIRECTORY_URL", "https://127.0.0.1:9/dir")
    return clean_app


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_answers_each_role_as_the_policy_says(
        matrix_app, client, register, local_vps, stripe_server, role):
    resources, headers = _world(matrix_app, register, role)
    resources["vps_id"] = local_vps["id"]
    column = ROLES.index(role)
    wrong = []
    for method, rule, body, statuses in MATRIX:
        url = re.sub(r"<(\w+)(?::(\w+))?>",
                     lambda m: resources[m.group(2) or m.group(1)], rule)
        if body == "archive":
            response = client.open(url, method=method, headers=headers, data=_archive(),
                                   content_type="multipart/form-data")
        else:
            response = client.open(url, method=method, headers=headers,
                                   json=_for_role(body, role))
        if response.status_code != statuses[column]:
            wrong.append((method, rule, statuses[column], response.status_code,
                          (response.get_json(silent=True) or {}).get("detail")))
    assert wrong == []


def test_the_matrix_lists_every_endpoint(app):
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(method, re.sub(r"<(\w+):\w+>", r"<\1>", rule)) for method, rule, _, _ in MATRIX}
    assert routes - listed - set(ELSEWHERE) == set()
    assert listed - routes == set()  # no stale row
