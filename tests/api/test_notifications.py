"""Notification channels: signed webhooks for the events an organization asked for."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from chom.services import operators
from tests.http_receiver import Receiver
from tests.members import add_member


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _verify(secret: str, request) -> dict:
    """Check the signature exactly as a receiver would, and return the event."""
    parts = dict(item.split("=", 1) for item in request.headers["Chom-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request.body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(time.time() - int(parts["t"])) < 300
    return json.loads(request.body)


def _channel(account, url, **extra):
    response = account.post("/api/v1/notification-channels",
                            json={"kind": "webhook", "target": url, **extra})
    assert response.status_code == 201, response.json
    return response.json["data"]


def test_a_test_delivery_is_signed_and_recorded(register, receiver):
    owner = register("Hooked")
    channel = _channel(owner, receiver.url + "/hooks/chom")
    assert channel["secret"].startswith("whsec_")
    listed = owner.get("/api/v1/notification-channels").json["data"]
    assert [c["id"] for c in listed] == [channel["id"]] and "secret" not in listed[0]

    sent = owner.post(f"/api/v1/notification-channels/{channel['id']}/test")
    assert sent.status_code == 202
    (request,) = receiver.wait_for(1)
    event = _verify(channel["secret"], request)
    assert request.path == "/hooks/chom"
    assert request.headers["Chom-Event"] == "test"
    assert request.headers["Chom-Delivery"] == event["id"] == sent.json["data"]["delivery_id"]
    assert event["type"] == "test" and event["data"] == {"message": "CHOM test delivery"}
    deadline = time.monotonic() + 10
    while (shown := owner.get(f"/api/v1/notification-channels/{channel['id']}").json["data"]
           )["last_delivery_status"] != "delivered":
        assert time.monotonic() < deadline, shown
        time.sleep(0.05)


def test_a_failed_provisioning_reaches_the_channels_that_want_it(
        clean_app, register, receiver, tmp_path):
    owner = register("Failing Co")
    settings = operators.local_vps_settings(str(tmp_path / "vps"))
    settings["commands"]["nginx_test"] = ["false"]
    with clean_app.app_context():
        from chom.services import fleet

        fleet.add_vps(name="broken", host="localhost", transport="local", capacity=10,
                      ssh_user="", settings=settings)
    wants_it = _channel(owner, receiver.url + "/failures",
                        events=["site.provisioning_failed"])
    _channel(owner, receiver.url + "/backups", events=["backup.failed"])
    off = _channel(owner, receiver.url + "/off")
    assert owner.patch(f"/api/v1/notification-channels/{off['id']}",
                       json={"enabled": False}).json["data"]["enabled"] is False

    created = owner.create_site("fails.example.com")
    assert owner.wait_for_operation(created.json["meta"]["operation_id"])["status"] == "failed"
    (request,) = receiver.wait_for(1)
    time.sleep(0.3)  # nothing else arrives
    assert len(receiver.requests) == 1 and request.path == "/failures"
    event = _verify(wants_it["secret"], request)
    assert event["type"] == "site.provisioning_failed"
    assert event["tenant_id"] == owner.tenant_id
    assert event["data"]["domain"] == "fails.example.com" and "nginx" in event["data"]["error"]


@pytest.mark.parametrize("body, field", [
    ({"kind": "webhook", "target": "ftp://example.com/x"}, "target"),
    ({"kind": "webhook", "target": "http://127.0.0.1/x", "events": ["nope"]}, "events"),
    ({"kind": "pager", "target": "http://127.0.0.1/x"}, "kind"),
    ({"kind": "webhook"}, "target"),
])
def test_bad_channels_are_refused_with_the_field_named(register, body, field):
    owner = register("Careful")
    response = owner.post("/api/v1/notification-channels", json=body)
    assert response.status_code == 422
    assert any(key.split(".")[0] == field for key in response.json["errors"]), response.json
    assert owner.get("/api/v1/notification-channels").json["data"] == []


def test_private_addresses_are_refused_unless_allowed(clean_app, register, monkeypatch):
    monkeypatch.setitem(clean_app.config, "CHOM_WEBHOOK_ALLOW_PRIVATE", False)
    owner = register("Public Only")
    for url in ("http://127.0.0.1:8080/x", "http://10.0.0.5/x", "http://[::1]/x",
                "http://169.254.169.254/latest/meta-data"):
        response = owner.post("/api/v1/notification-channels",
                              json={"kind": "webhook", "target": url})
        assert response.status_code == 422, url
        assert "public" in response.json["errors"]["target"][0]


@pytest.mark.parametrize("role, status", [
    ("viewer", 403), ("member", 403), ("admin", 201), ("owner", 201)])
def test_only_admins_and_owners_manage_channels(clean_app, client, register, role, status):
    owner = register("Roles")
    headers = owner.headers if role == "owner" else add_member(clean_app, owner, role)["headers"]
    created = client.post("/api/v1/notification-channels", headers=headers,
                          json={"kind": "webhook", "target": "http://127.0.0.1:9/x"})
    assert created.status_code == status
    listed = client.get("/api/v1/notification-channels", headers=headers)
    assert listed.status_code == (200 if status == 201 else 403)


def test_channel_changes_are_audited(register):
    owner = register("Audited")
    channel = _channel(owner, "http://127.0.0.1:9/a")
    owner.patch(f"/api/v1/notification-channels/{channel['id']}", json={"events": ["test"]})
    assert owner.delete(f"/api/v1/notification-channels/{channel['id']}").status_code == 204
    actions = [e["action"] for e in owner.get("/api/v1/audit-log").json["data"]]
    assert {"notification_channel.created", "notification_channel.updated",
            "notification_channel.deleted"} <= set(actions)
    assert owner.get(f"/api/v1/notification-channels/{channel['id']}").status_code == 404


def test_an_email_channel_gets_the_event_by_mail(register, mailbox):
    owner = register("Mailed")
    response = owner.post("/api/v1/notification-channels", json={
        "kind": "email", "target": "ops@mailed.test", "events": ["test"]})
    assert response.status_code == 201 and response.json["data"]["secret"] is None
    channel = response.json["data"]
    owner.post(f"/api/v1/notification-channels/{channel['id']}/test")
    deadline = time.monotonic() + 10
    while not mailbox.to("ops@mailed.test"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    message = mailbox.last_to("ops@mailed.test")
    assert message["Subject"] == "[CHOM] A test delivery asked for from the API or the console."
    assert "message: CHOM test delivery" in mailbox.body(message)
    bad = owner.post("/api/v1/notification-channels", json={"kind": "email", "target": "nope"})
    assert bad.status_code == 422 and "target" in bad.json["errors"]


def test_payment_failures_and_invitations_are_announced(clean_app, register, receiver,
                                                        stripe_server, mailbox):
    from tests.billing_helpers import deliver, drain, subscribe

    fake = stripe_server.fake
    owner = register("Announced")
    channel = _channel(owner, receiver.url + "/org",
                       events=["payment.failed", "invitation.sent"])
    subscription = subscribe(clean_app, owner, fake, "starter")
    fake.set_status(subscription["id"], "past_due")
    failed = fake.add_invoice(subscription["id"], amount=2900, status="open")
    assert deliver(owner.client, fake, fake.event("invoice.payment_failed", failed)
                   ).status_code == 200
    drain(clean_app)
    assert owner.post("/api/v1/invitations", json={"email": "new@announced.test",
                                                   "role": "member"}).status_code == 201
    events = [_verify(channel["secret"], r) for r in receiver.wait_for(2)]
    by_type = {e["type"]: e for e in events}
    assert by_type["payment.failed"]["tenant_id"] == owner.tenant_id
    assert by_type["payment.failed"]["data"]["plan"] == "starter"
    assert by_type["invitation.sent"]["data"]["email"] == "new@announced.test"
    # A second failed delivery of the same standing does not announce it again.
    assert deliver(owner.client, fake, fake.event("invoice.payment_failed", failed)
                   ).status_code == 200
    drain(clean_app)
    time.sleep(0.3)
    assert len(receiver.requests) == 2
