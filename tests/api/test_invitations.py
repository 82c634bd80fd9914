"""Invitations end to end, through a real SMTP server (aiosmtpd): the test reads the email and
follows the token in its link."""

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from chom.extensions import db
from chom.models import AuditLog, Invitation
from chom.models.base import utcnow
from tests.conftest import PASSWORD


def _invite(owner, email, role="member", **scope):
    response = owner.post("/api/v1/invitations", json={"email": email, "role": role, **scope})
    assert response.status_code == 201, response.json
    return response.json["data"]


def _accept(client, token, headers=None, **body):
    return client.post("/api/v1/invitations/accept", headers=headers or {},
                       json={"token": token, **body})


def test_invite_email_accept_as_a_new_user(clean_app, client, register, mailbox):
    owner = register("Agency")
    invitation = _invite(owner, "New.Person@Example.com", role="viewer")
    assert invitation["email"] == "new.person@example.com" and not invitation["expired"]

    message = mailbox.last_to("new.person@example.com")
    assert "Agency" in message["Subject"] and "viewer" in mailbox.body(message)
    token = mailbox.token_in(message, "/invitations/accept")
    assert token not in str(owner.get("/api/v1/invitations").json)  # never shown again

    weak = _accept(client, token, name="New Person", password="short")
    assert weak.status_code == 422 and "password" in weak.json["errors"]
    accepted = _accept(client, token, name="New Person", password=PASSWORD)
    assert accepted.status_code == 201, accepted.json
    data = accepted.json["data"]
    assert data["member"]["role"] == "viewer" and data["member"]["all_tenants"] is True
    assert data["organization"]["id"] == owner.organization_id

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {data['token']}"})
    assert me.json["data"]["user"]["role"] == "viewer"
    login = client.post("/api/v1/auth/login", json={"email": "new.person@example.com",
                                                    "password": PASSWORD})
    assert login.status_code == 200
    # Single use: the same link is dead now, and the invitation is no longer pending.
    again = _accept(client, token, name="Someone", password=PASSWORD)
    assert again.status_code == 404 and "not valid" in again.json["detail"]
    assert owner.get("/api/v1/invitations").json["data"] == []
    with clean_app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"invitation.created", "invitation.accepted"} <= actions


def test_an_invitation_carries_a_tenant_scope(clean_app, client, register, mailbox):
    owner = register("Agency")
    tenant_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    invitation = _invite(owner, "client-b@example.com", all_tenants=False,
                         tenant_ids=[tenant_b])
    assert invitation["tenant_ids"] == [tenant_b]
    token = mailbox.token_in(mailbox.last_to("client-b@example.com"), "/invitations/accept")
    data = _accept(client, token, name="B staff", password=PASSWORD).json["data"]
    headers = {"Authorization": f"Bearer {data['token']}"}
    assert [t["id"] for t in client.get("/api/v1/tenants", headers=headers).json["data"]] \
        == [tenant_b]
    assert client.get("/api/v1/sites", headers={**headers, "X-Tenant-ID": owner.tenant_id}
                      ).status_code == 404


def test_a_logged_in_user_is_linked(client, register, mailbox):
    owner = register("Agency")
    other = register("Elsewhere")
    _invite(owner, other.email, role="admin")
    token = mailbox.token_in(mailbox.last_to(other.email), "/invitations/accept")
    # Without logging in, the existing account is not taken over by the link's holder.
    anonymous = _accept(client, token, name="X", password=PASSWORD)
    assert anonymous.status_code == 409 and "log in" in anonymous.json["detail"]
    linked = _accept(client, token, headers=other.headers)
    assert linked.status_code == 201 and linked.json["data"]["token"] is None
    members = owner.get("/api/v1/members").json["data"]
    assert {(m["user"]["email"], m["role"]) for m in members} == {
        (owner.email, "owner"), (other.email, "admin")}


def test_expired_links_do_not_work(clean_app, client, register, mailbox):
    owner = register("Agency")
    invitation = _invite(owner, "late@example.com")
    token = mailbox.token_in(mailbox.last_to("late@example.com"), "/invitations/accept")
    with clean_app.app_context():
        db.session.execute(update(Invitation).where(Invitation.id == uuid.UUID(invitation["id"]))
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert _accept(client, token, name="Late", password=PASSWORD).status_code == 404
    listed = owner.get("/api/v1/invitations").json["data"]
    assert [i["expired"] for i in listed] == [True]
    # Resending gives a new, working link.
    assert owner.post(f"/api/v1/invitations/{invitation['id']}/resend").status_code == 200
    fresh = mailbox.token_in(mailbox.last_to("late@example.com"), "/invitations/accept")
    assert _accept(client, fresh, name="Late", password=PASSWORD).status_code == 201


def test_resend_kills_the_old_link(client, register, mailbox):
    owner = register("Agency")
    invitation = _invite(owner, "twice@example.com")
    old = mailbox.token_in(mailbox.last_to("twice@example.com"), "/invitations/accept")
    resent = owner.post(f"/api/v1/invitations/{invitation['id']}/resend")
    assert resent.status_code == 200
    assert len(mailbox.to("twice@example.com")) == 2
    new = mailbox.token_in(mailbox.last_to("twice@example.com"), "/invitations/accept")
    assert new != old
    assert _accept(client, old, name="Twice", password=PASSWORD).status_code == 404
    assert _accept(client, new, name="Twice", password=PASSWORD).status_code == 201


def test_revoke(client, register, mailbox):
    owner = register("Agency")
    invitation = _invite(owner, "gone@example.com")
    token = mailbox.token_in(mailbox.last_to("gone@example.com"), "/invitations/accept")
    assert owner.delete(f"/api/v1/invitations/{invitation['id']}").status_code == 204
    assert owner.get("/api/v1/invitations").json["data"] == []
    assert _accept(client, token, name="Gone", password=PASSWORD).status_code == 404
    assert owner.delete(f"/api/v1/invitations/{invitation['id']}").status_code == 404
    assert owner.post(f"/api/v1/invitations/{invitation['id']}/resend").status_code == 404


def test_invitation_input_is_checked(register, mailbox):
    owner = register("Agency")
    cases = (
        ({"email": "x@example.com", "role": "owner"}, 422),
        ({"email": "not-an-email", "role": "member"}, 422),
        ({"email": "x@example.com", "role": "member", "all_tenants": False}, 422),
        ({"email": "x@example.com", "role": "member", "all_tenants": False,
          "tenant_ids": [str(uuid.uuid4())]}, 404),
        ({"email": owner.email, "role": "member"}, 409),
    )
    for body, status in cases:
        response = owner.post("/api/v1/invitations", json=body)
        assert response.status_code == status, (body, response.json)
    _invite(owner, "once@example.com")
    assert owner.post("/api/v1/invitations", json={"email": "once@example.com",
                                                   "role": "member"}).status_code == 409
    assert [m["To"] for m in mailbox.messages] == ["once@example.com"]


def test_an_unreachable_mail_server_is_a_503_and_the_invitation_can_be_resent(
        app, register, mailbox):
    owner = register("Agency")
    app.config["MAIL_PORT"] = 1  # nothing listens there
    try:
        response = owner.post("/api/v1/invitations", json={"email": "later@example.com",
                                                           "role": "member"})
    finally:
        app.config["MAIL_PORT"] = mailbox.port
    assert response.status_code == 503 and response.json["type"].endswith("/mail-unavailable")
    pending = owner.get("/api/v1/invitations").json["data"]
    assert owner.post(f"/api/v1/invitations/{pending[0]['id']}/resend").status_code == 200
    assert mailbox.to("later@example.com")


def test_invitations_racing_for_one_address_make_one(app, register, mailbox):
    from concurrent.futures import ThreadPoolExecutor

    owner = register("Racing Co")

    def invite(_):
        return app.test_client().post("/api/v1/invitations", headers=owner.headers,
                                      json={"email": "twice@racing.test", "role": "member"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(invite, range(8)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7
    assert all(a.mimetype == "application/problem+json" for a in answers
               if a.status_code == 409)
    pending = owner.get("/api/v1/invitations").json["data"]
    assert [i["email"] for i in pending] == ["twice@racing.test"]
