"""The console's notification channels page: a webhook added with its secret shown once and a
test delivery arriving signed at a real receiver, an email channel's test arriving at aiosmtpd,
inline errors, events, on/off, deletion with confirmation, roles, other organizations."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest

from tests.api.test_notifications import _verify
from tests.http_receiver import Receiver
from tests.web.test_console import parse
from tests.web.test_console_billing import _member_browser
from tests.web.test_console_team import _flash, _log_in


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _html(page) -> str:
    return page.get_data(as_text=True)


def _channels(account) -> list[dict]:
    return account.get("/api/v1/notification-channels").json["data"]


def _wait_for_status(browser, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while text not in (html := _html(browser.get("/notifications"))):
        assert time.monotonic() < deadline, html
        time.sleep(0.05)
    return html


def test_a_webhook_added_in_the_console_gets_a_signed_test_delivery(clean_app, register,
                                                                    receiver):
    owner = register("Hooked")
    browser = _log_in(clean_app.test_client(), owner.email)
    page = browser.get("/notifications")
    assert page.status_code == 200 and "No channels yet." in _html(page)
    assert 'style="' not in _html(page) and "<script>" not in _html(page)
    parsed = parse(page)
    boxes = [i for i in parsed.inputs if i.get("name") == "events"]
    assert len(boxes) == 8 and all(parsed.labels[b["id"]] for b in boxes)
    assert parsed.labels["target"] and parsed.labels["kind"]

    created = browser.post("/notifications", data={
        "kind": "webhook", "target": receiver.url + "/hooks/chom",
        "events": ["site.down", "test"]})
    assert created.status_code == 201
    assert f"Channel added: {receiver.url}/hooks/chom." in _flash(created)
    secret = unescape(re.search(r'id="new-secret" class="secret" readonly value="([^"]+)"',
                                _html(created)).group(1))
    assert secret.startswith("whsec_")
    [channel] = _channels(owner)
    assert channel["events"] == ["site.down", "test"] and channel["kind"] == "webhook"
    listed = _html(browser.get("/notifications"))
    assert secret not in listed and "none yet" in listed  # shown once; nothing sent yet
    ticked = [i["value"] for i in parse(browser.get("/notifications")).inputs
              if i.get("id", "").startswith(f"c-{channel['id']}-") and "checked" in i]
    assert ticked == ["site.down", "test"]

    sent = browser.post(f"/notifications/{channel['id']}/test", follow_redirects=True)
    assert "Test delivery queued" in _flash(sent)
    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks/chom"
    assert _verify(secret, request)["type"] == "test"
    html = _wait_for_status(browser, "delivered")
    assert re.search(r"delivered<br><small>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</small>", html)


def test_an_email_channel_gets_its_test_by_mail(clean_app, register, mailbox):
    owner = register("Mailed")
    browser = _log_in(clean_app.test_client(), owner.email)
    created = browser.post("/notifications", data={"kind": "email", "target": "ops@mailed.test"})
    assert created.status_code == 201
    assert 'id="new-secret"' not in _html(created)  # an email channel has no secret
    [channel] = _channels(owner)
    browser.post(f"/notifications/{channel['id']}/test")
    _wait_for_status(browser, "delivered")
    message = mailbox.last_to("ops@mailed.test")
    assert message["Subject"] == "[CHOM] A test delivery asked for from the API or the console."
    assert "/notifications" in mailbox.body(message)


def test_a_bad_channel_shows_the_errors_inline_keeping_what_was_typed(clean_app, register):
    owner = register("Careful")
    browser = _log_in(clean_app.test_client(), owner.email)
    refused = browser.post("/notifications", data={
        "kind": "webhook", "target": "ftp://example.com/x", "events": ["backup.failed"]})
    assert refused.status_code == 422
    parsed = parse(refused)
    target = next(i for i in parsed.inputs if i.get("name") == "target")
    assert target["value"] == "ftp://example.com/x" and target["aria-invalid"] == "true"
    assert re.search(r'<div id="target-errors"><p class="field-error">[^<]+</p>',
                     _html(refused))
    ticked = [i["value"] for i in parsed.inputs if i.get("id", "").startswith("new-")
              and "checked" in i]
    assert ticked == ["backup.failed"]
    email = browser.post("/notifications", data={"kind": "email", "target": "not an address"})
    assert email.status_code == 422 and "Not a valid email address." in _html(email)
    assert 'selected>Email</option>' in _html(email)
    assert _channels(owner) == []


def test_events_on_off_and_deletion_with_confirmation(clean_app, register):
    owner = register("Editing")
    channel = owner.post("/api/v1/notification-channels", json={
        "kind": "email", "target": "ops@editing.test"}).json["data"]
    browser = _log_in(clean_app.test_client(), owner.email)
    assert "All events" in _html(browser.get("/notifications"))

    saved = browser.post(f"/notifications/{channel['id']}", data={
        "target": "oncall@editing.test", "events": ["ssl.expiring", "backup.failed"]},
        follow_redirects=True)
    assert "Channel saved." in _flash(saved)
    assert "ssl.expiring, backup.failed" in _html(saved) and "All events" not in _html(saved)
    [changed] = _channels(owner)
    assert changed["events"] == ["ssl.expiring", "backup.failed"]
    assert changed["target"] == "oncall@editing.test"
    for data, message in (({"events": ["nope"]}, "Unknown events: nope."),
                          ({"target": "no address"}, "Not a valid email address.")):
        refused = browser.post(f"/notifications/{channel['id']}", data=data,
                               follow_redirects=True)
        assert message in _flash(refused)
    assert _channels(owner)[0]["target"] == "oncall@editing.test"

    off = browser.post(f"/notifications/{channel['id']}/enabled", data={"enabled": "0"},
                       follow_redirects=True)
    assert "Channel disabled." in _flash(off) and ">Enable</button>" in _html(off)
    assert _channels(owner)[0]["enabled"] is False
    on = browser.post(f"/notifications/{channel['id']}/enabled", data={"enabled": "1"},
                      follow_redirects=True)
    assert "Channel enabled." in _flash(on) and _channels(owner)[0]["enabled"] is True

    confirm = browser.get(f"/notifications/{channel['id']}/delete")
    assert confirm.status_code == 200
    assert "oncall@editing.test" in _html(confirm) and "Delete channel" in _html(confirm)
    assert _channels(owner) != []  # asking is not deleting
    deleted = browser.post(f"/notifications/{channel['id']}/delete", follow_redirects=True)
    assert "Channel deleted." in _flash(deleted) and _channels(owner) == []


def test_admins_manage_channels_members_and_viewers_are_refused(clean_app, register):
    owner = register("Roles")
    channel = owner.post("/api/v1/notification-channels", json={
        "kind": "email", "target": "ops@roles.test"}).json["data"]
    admin = _member_browser(clean_app, owner, "admin")
    page = admin.get("/notifications")
    assert page.status_code == 200 and "ops@roles.test" in _html(page)
    assert admin.post(f"/notifications/{channel['id']}/enabled", data={"enabled": "0"}
                      ).status_code == 302
    for role in ("member", "viewer"):
        browser = _member_browser(clean_app, owner, role)
        assert browser.get("/notifications").status_code == 403
        assert browser.post("/notifications", data={"kind": "email", "target": "x@y.test"}
                            ).status_code == 403
        for action in ("/test", "/delete", "/enabled", ""):
            assert browser.post(f"/notifications/{channel['id']}{action}").status_code == 403
        assert browser.get(f"/notifications/{channel['id']}/delete").status_code == 403
    assert [c["target"] for c in _channels(owner)] == ["ops@roles.test"]


def test_another_organizations_channel_is_a_404(clean_app, register):
    mine, theirs = register("Mine"), register("Theirs")
    channel = theirs.post("/api/v1/notification-channels", json={
        "kind": "email", "target": "ops@theirs.test"}).json["data"]
    browser = _log_in(clean_app.test_client(), mine.email)
    assert "ops@theirs.test" not in _html(browser.get("/notifications"))
    for target in (channel["id"], "not-a-uuid"):
        assert browser.get(f"/notifications/{target}/delete").status_code == 404
        for action in ("/test", "/delete", ""):
            assert browser.post(f"/notifications/{target}{action}").status_code == 404
        assert browser.post(f"/notifications/{target}/enabled",
                            data={"enabled": "0"}).status_code == 404
    [kept] = _channels(theirs)
    assert (kept["events"], kept["enabled"], kept["last_delivery_status"]) == ([], True, None)
