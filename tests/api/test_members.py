"""Members: roles, tenant scopes (issue 10), removal, ownership transfer, the last owner."""

from sqlalchemy import select

from chom.extensions import db
from chom.models import AuditLog
from tests.conftest import PASSWORD
from tests.members import add_member


def _member_id(owner, user_id):
    return next(m["id"] for m in owner.get("/api/v1/members").json["data"]
                if m["user"]["id"] == user_id)


def _patch(account, member_id, **body):
    return account.client.patch(f"/api/v1/members/{member_id}", headers=account.headers,
                                json=body)


def test_list_shows_role_and_scope(clean_app, register):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]
    add_member(clean_app, owner, "viewer", tenant_ids=[tenant_b["id"]])
    listed = owner.get("/api/v1/members").json["data"]
    assert [(m["role"], m["all_tenants"]) for m in listed] == [("owner", True), ("viewer", False)]
    assert listed[1]["tenants"] == [{"id": tenant_b["id"], "name": "Client B"}]
    assert listed[0]["user"] == {"id": owner.user_id, "name": "Owner", "email": owner.email,
                                 "two_factor": False}


def test_a_role_change_applies_to_the_next_request(clean_app, client, register):
    owner = register("Agency")
    member = add_member(clean_app, owner, "viewer")
    member_id = _member_id(owner, member["user_id"])
    assert client.post("/api/v1/tenants", headers=member["headers"],
                       json={"name": "Mine"}).status_code == 403
    changed = _patch(owner, member_id, role="admin")
    assert changed.status_code == 200 and changed.json["data"]["role"] == "admin"
    assert client.post("/api/v1/tenants", headers=member["headers"],
                       json={"name": "Mine"}).status_code == 201
    assert _patch(owner, member_id, role="nobody").status_code == 422
    with clean_app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "member.updated"))
    assert entry.details["role"] == ["viewer", "admin"]


def test_narrowing_a_scope_through_the_api_stops_the_token_on_the_next_request(
        clean_app, client, register):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    member = add_member(clean_app, owner, "member")
    member_id = _member_id(owner, member["user_id"])
    in_b = {**member["headers"], "X-Tenant-ID": tenant_b}
    assert client.get("/api/v1/sites", headers=in_b).status_code == 200

    narrowed = _patch(owner, member_id, all_tenants=False, tenant_ids=[owner.tenant_id])
    assert narrowed.status_code == 200
    assert [t["id"] for t in narrowed.json["data"]["tenants"]] == [owner.tenant_id]
    assert client.get("/api/v1/sites", headers=in_b).status_code == 404
    assert client.get(f"/api/v1/tenants/{tenant_b}", headers=member["headers"]).status_code \
        == 404
    assert client.get("/api/v1/sites", headers=member["headers"]).status_code == 200

    widened = _patch(owner, member_id, all_tenants=True)
    assert widened.status_code == 200 and widened.json["data"]["all_tenants"] is True
    assert client.get("/api/v1/sites", headers=in_b).status_code == 200


def test_scope_input_is_checked(clean_app, register):
    owner = register("Agency")
    other = register("Elsewhere")
    member_id = _member_id(owner, add_member(clean_app, owner, "member")["user_id"])
    assert _patch(owner, member_id, all_tenants=False).status_code == 422
    assert _patch(owner, member_id, all_tenants=True,
                  tenant_ids=[owner.tenant_id]).status_code == 422
    # Another organization's tenant is not found, as everywhere.
    assert _patch(owner, member_id, all_tenants=False,
                  tenant_ids=[other.tenant_id]).status_code == 404


def test_an_owner_cannot_be_scoped(clean_app, register):
    owner = register("Agency")
    owner.post("/api/v1/tenants", json={"name": "Client B"})
    own_id = _member_id(owner, owner.user_id)
    refused = _patch(owner, own_id, all_tenants=False, tenant_ids=[owner.tenant_id])
    assert refused.status_code == 422 and "every tenant" in str(refused.json["errors"])
    assert len(owner.get("/api/v1/tenants").json["data"]) == 2
    # Promoting a scoped member to owner gives every tenant.
    scoped = add_member(clean_app, owner, "member", tenant_ids=[owner.tenant_id])
    promoted = _patch(owner, _member_id(owner, scoped["user_id"]), role="owner")
    assert promoted.json["data"]["all_tenants"] is True
    assert len(owner.client.get("/api/v1/tenants", headers=scoped["headers"]).json["data"]) == 2


def test_removal_stops_sessions_and_tokens_at_once(clean_app, client, register):
    owner = register("Agency")
    # A member with an API token and a console session.
    token_user = add_member(clean_app, owner, "admin")
    browser = clean_app.test_client()
    invited = add_member(clean_app, owner, "member")
    member_id = _member_id(owner, invited["user_id"])
    _set_password(clean_app, invited["user_id"])
    email = next(m["user"]["email"] for m in owner.get("/api/v1/members").json["data"]
                 if m["id"] == member_id)
    assert browser.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    assert browser.get("/dashboard").status_code == 200
    assert client.get("/api/v1/sites", headers=invited["headers"]).status_code == 200

    assert owner.delete(f"/api/v1/members/{member_id}").status_code == 204
    assert client.get("/api/v1/sites", headers=invited["headers"]).status_code == 401
    assert browser.get("/dashboard").status_code == 302  # back to the log-in page
    assert member_id not in {m["id"] for m in owner.get("/api/v1/members").json["data"]}
    # Others are untouched.
    assert client.get("/api/v1/sites", headers=token_user["headers"]).status_code == 200


def _set_password(app, user_id):
    import uuid

    from chom.models import User
    from chom.services.passwords import hash_password

    with app.app_context():
        user = db.session.scalar(select(User).where(User.id == uuid.UUID(user_id)))
        user.password_hash = hash_password(PASSWORD)
        db.session.commit()


def test_the_last_owner_cannot_be_removed_or_demoted(clean_app, client, register):
    owner = register("Agency")
    own_id = _member_id(owner, owner.user_id)
    demoted = _patch(owner, own_id, role="admin")
    assert demoted.status_code == 409 and "last owner" in demoted.json["detail"]
    assert owner.delete(f"/api/v1/members/{own_id}").status_code == 409
    # With a second owner, the first may step down.
    second = add_member(clean_app, owner, "owner")
    assert _patch(owner, own_id, role="admin").status_code == 200
    second_id = _member_id(owner, second["user_id"])
    assert client.delete(f"/api/v1/members/{second_id}",
                         headers=second["headers"]).status_code == 409


def test_admins_do_not_touch_owners(clean_app, client, register):
    owner = register("Agency")
    admin = add_member(clean_app, owner, "admin")
    own_id = _member_id(owner, owner.user_id)
    member_id = _member_id(owner, add_member(clean_app, owner, "member")["user_id"])
    headers = admin["headers"]
    assert client.patch(f"/api/v1/members/{own_id}", headers=headers,
                        json={"role": "viewer"}).status_code == 403
    assert client.delete(f"/api/v1/members/{own_id}", headers=headers).status_code == 403
    assert client.patch(f"/api/v1/members/{member_id}", headers=headers,
                        json={"role": "owner"}).status_code == 403
    assert client.patch(f"/api/v1/members/{member_id}", headers=headers,
                        json={"role": "admin"}).status_code == 200


def test_transfer_ownership(clean_app, client, register):
    owner = register("Agency")
    heir = add_member(clean_app, owner, "member", tenant_ids=[owner.tenant_id])
    heir_id = _member_id(owner, heir["user_id"])
    own_id = _member_id(owner, owner.user_id)
    assert owner.post(f"/api/v1/members/{own_id}/ownership").status_code == 409
    moved = owner.post(f"/api/v1/members/{heir_id}/ownership")
    assert moved.status_code == 200
    assert moved.json["data"]["role"] == "owner" and moved.json["data"]["all_tenants"] is True
    roles = {m["user"]["id"]: m["role"] for m in owner.get("/api/v1/members").json["data"]}
    assert roles == {owner.user_id: "admin", heir["user_id"]: "owner"}
    # The former owner is an admin now: no more owner-only actions.
    assert owner.post(f"/api/v1/members/{heir_id}/ownership").status_code == 403
    assert owner.client.patch("/api/v1/organization", headers=owner.headers,
                              json={"name": "Mine"}).status_code == 403
    with clean_app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action)))
    assert "organization.ownership_transferred" in actions


def test_transfer_is_in_the_sensitive_rate_limit_tier(app, clean_app, client, register):
    owner = register("Agency")
    heir_id = _member_id(owner, add_member(clean_app, owner, "member")["user_id"])
    app.config["CHOM_RATE_LIMIT_SENSITIVE"] = "1/minute"
    try:
        first = owner.post(f"/api/v1/members/{heir_id}/ownership")
        second = owner.post(f"/api/v1/members/{heir_id}/ownership")
    finally:
        app.config["CHOM_RATE_LIMIT_SENSITIVE"] = "100000/minute"
    assert first.status_code == 200
    assert second.status_code == 429 and "Retry-After" in second.headers


def test_an_admin_limited_to_some_tenants_grants_no_more_than_they_reach(
        clean_app, client, register, mailbox):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    admin = add_member(clean_app, owner, "admin", tenant_ids=[owner.tenant_id])
    admin_id = _member_id(owner, admin["user_id"])
    in_a = add_member(clean_app, owner, "viewer", tenant_ids=[owner.tenant_id])
    everywhere = add_member(clean_app, owner, "member")
    in_b = add_member(clean_app, owner, "member", tenant_ids=[tenant_b])
    headers = admin["headers"]

    def patch(member, **body):
        return client.patch(f"/api/v1/members/{_member_id(owner, member['user_id'])}",
                            headers=headers, json=body)

    # Not their own scope widened, nor anyone's beyond tenant A.
    assert client.patch(f"/api/v1/members/{admin_id}", headers=headers,
                        json={"all_tenants": True}).status_code == 403
    assert patch(in_a, all_tenants=True).status_code == 403
    assert patch(in_a, all_tenants=False, tenant_ids=[tenant_b]).status_code == 404
    # Members reaching beyond tenant A are out of their hands.
    assert patch(everywhere, role="viewer").status_code == 403
    assert patch(in_b, role="viewer").status_code == 403
    assert client.delete(f"/api/v1/members/{_member_id(owner, in_b['user_id'])}",
                         headers=headers).status_code == 403
    # Invitations: only to tenant A.
    assert client.post("/api/v1/invitations", headers=headers, json={
        "email": "all@agency.test", "role": "member"}).status_code == 403
    assert client.post("/api/v1/invitations", headers=headers, json={
        "email": "b@agency.test", "role": "member", "all_tenants": False,
        "tenant_ids": [tenant_b]}).status_code == 404
    assert client.post("/api/v1/invitations", headers=headers, json={
        "email": "a@agency.test", "role": "member", "all_tenants": False,
        "tenant_ids": [owner.tenant_id]}).status_code == 201
    wide = owner.post("/api/v1/invitations", json={"email": "wide@agency.test",
                                                   "role": "member"}).json["data"]["id"]
    assert client.delete(f"/api/v1/invitations/{wide}", headers=headers).status_code == 403
    # They see the members and invitations within tenant A only.
    assert {m["user"]["id"] for m in client.get("/api/v1/members", headers=headers).json[
        "data"]} == {admin["user_id"], in_a["user_id"]}
    assert [i["email"] for i in client.get("/api/v1/invitations", headers=headers).json[
        "data"]] == ["a@agency.test"]
    # Within tenant A they manage as any admin.
    assert patch(in_a, role="member").status_code == 200
    # ...and the scope they could not widen is unchanged.
    assert [t["id"] for t in client.get("/api/v1/tenants", headers=headers).json["data"]] \
        == [owner.tenant_id]


def test_narrowing_a_scope_applies_to_a_console_session_too(clean_app, register):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    member = add_member(clean_app, owner, "member")
    _set_password(clean_app, member["user_id"])
    email = owner.client.get("/api/v1/auth/me", headers=member["headers"]).json["data"][
        "user"]["email"]
    browser = clean_app.test_client()
    assert browser.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    page = browser.get(f"/dashboard?tenant={tenant_b}").get_data(as_text=True)
    assert "Sites · Client B" in page

    _patch(owner, _member_id(owner, member["user_id"]), all_tenants=False,
           tenant_ids=[owner.tenant_id])
    page = browser.get(f"/dashboard?tenant={tenant_b}").get_data(as_text=True)
    assert "Client B" not in page and "Tenant not found." in page


def test_every_team_action_is_audited(clean_app, client, register, mailbox):
    owner = register("Agency")
    member_id = _member_id(owner, add_member(clean_app, owner, "member")["user_id"])
    invitation = owner.post("/api/v1/invitations", json={"email": "i@agency.test",
                                                         "role": "viewer"}).json["data"]["id"]
    owner.post(f"/api/v1/invitations/{invitation}/resend")
    owner.delete(f"/api/v1/invitations/{invitation}")
    _patch(owner, member_id, role="admin")
    owner.post(f"/api/v1/members/{member_id}/ownership")
    owner.client.patch("/api/v1/organization", headers=owner.headers, json={"name": "New"})
    third = add_member(clean_app, owner, "viewer")
    client.delete(f"/api/v1/members/{_member_id(owner, third['user_id'])}",
                  headers=owner.headers)  # the former owner is an admin now
    entries = owner.get("/api/v1/audit-log?per_page=100").json["data"]
    actions = {e["action"] for e in entries}
    assert {"invitation.created", "invitation.resent", "invitation.revoked", "member.updated",
            "organization.ownership_transferred", "member.removed"} <= actions
    assert all(e["ip"] and e["correlation_id"] for e in entries)
    renamed = owner.client.patch("/api/v1/organization", headers=owner.headers,
                                 json={"name": "Again"})
    assert renamed.status_code == 403  # an admin now
