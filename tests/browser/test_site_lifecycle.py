"""The console in a real browser against the test fleet: sign up → create an HTML site → watch
its progress bar reach done → see the site on its VPS → issue SSL (pebble) → invite a member,
who joins and sees the site without a delete button (a viewer sees no button at all) → delete
with typed confirmation."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from chom.services import fleet as fleet_service
from tests.browser.harness import PHONE
from tests.browser.pages import (
    csrf_token,
    log_in,
    organization_of,
    sign_up,
    wider_than_viewport,
)
from tests.members import add_member

DOMAIN = "browser.example.com"
CONTENT = "<h1>Hello from the browser</h1>"
SLOW_MS = 120_000  # provisioning and ACME over the fleet


def test_site_from_sign_up_to_deletion(console, browsers, fleet, pebble, clean_app, artifacts,
                                       smtp_server):
    host = fleet.hosts[0]
    with clean_app.app_context():
        fleet_service.add_vps(**host.add_vps_kwargs(
            settings={**host.profile, "ssh_key_path": host.client_key_path}))
    pebble.add_a_record(DOMAIN, host.address)
    owner = browsers.new(resolve={DOMAIN: host.address})
    page = owner.new_page()
    sign_up(page, console, "Browser Agency")

    # Create: the HTML type's option fields come from its plugin's JSON schema.
    page.get_by_role("link", name="New site").click()
    page.get_by_label("Domain").fill(DOMAIN)
    with page.expect_response("**/sites/new/options?type=html"):  # the fields are swapped in
        page.get_by_label("Site type").select_option("html")
    page.get_by_label("Index html").fill(CONTENT)
    page.get_by_role("button", name="Create site").click()
    expect(page.get_by_role("alert")).to_contain_text(f"{DOMAIN} is being provisioned.")
    site_url = page.url
    page.evaluate("window.chomNotReloaded = true")

    # The progress section polls itself (htmx) until the operation is done: no reload.
    expect(page.locator("#progress h2")).to_have_text("Provision: succeeded", timeout=SLOW_MS)
    bar = page.locator("#progress progress")
    expect(bar).to_have_attribute("value", bar.get_attribute("max"))
    assert int(bar.get_attribute("max")) > 1
    expect(page.locator("#site-status")).to_have_text("active")
    assert page.evaluate("window.chomNotReloaded") is True
    expect(page.locator("#progress")).not_to_have_attribute("hx-trigger", re.compile("."))

    # The site answers on its VPS (the browser resolves the domain to the fleet host).
    visit = owner.new_page()
    visit.goto(f"http://{DOMAIN}/")
    expect(visit.locator("h1")).to_have_text("Hello from the browser")

    # SSL from pebble, then the site page shows the certificate's expiry and HTTPS works.
    page.reload()
    expect(page.locator("#site-vps")).to_have_text(host.name)
    expect(page.locator("#site-ssl")).to_have_text("none")
    page.get_by_role("button", name="Issue SSL certificate").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Certificate requested: {DOMAIN}.")
    expect(page.locator("#progress h2")).to_have_text("Issue SSL: succeeded", timeout=SLOW_MS)
    page.reload()
    expect(page.locator("#site-ssl")).to_contain_text(re.compile(r"valid until \d{4}-\d\d-\d\d"))
    visit.goto(f"https://{DOMAIN}/")
    expect(visit.locator("h1")).to_have_text("Hello from the browser")

    # Phone-sized screenshots of the dashboard and the site page, which must not scroll sideways.
    page.set_viewport_size(PHONE)
    page.goto(f"{console}/dashboard")
    expect(page.get_by_role("table").get_by_role("link", name=DOMAIN)).to_be_visible()
    assert wider_than_viewport(page) == []
    page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)
    page.goto(site_url)
    assert wider_than_viewport(page) == []
    page.screenshot(path=str(artifacts / "site-phone.png"), full_page=True)
    assert (artifacts / "dashboard-phone.png").stat().st_size > 0
    assert (artifacts / "site-phone.png").stat().st_size > 0

    # A member invited from the team page joins through the emailed link, sees the site and
    # may act on it but not delete it; a viewer (added directly) sees no button at all; the
    # server refuses both anyway.
    site_id = site_url.rsplit("/", 1)[-1]
    page.goto(f"{console}/team")
    invitee = "member@invited.test"
    page.get_by_label("Email", exact=True).fill(invitee)
    page.locator("#invite-role").select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Invitation sent to {invitee}")
    link = re.search(r"http\S+/invitations/accept\?token=\S+",
                     smtp_server.body(smtp_server.last_to(invitee))).group(0)
    assert link.startswith(console)
    member = browsers.new().new_page()
    member.goto(link)
    member.get_by_label("Your name").fill("Mia")
    member.get_by_label("Password (10 characters or more)").fill("member passphrase 1")
    member.get_by_role("button", name="Create account and join").click()
    expect(member).to_have_url(re.compile(r"/dashboard$"))

    viewer = browsers.new().new_page()
    added = add_member(clean_app, organization_of(clean_app, "Browser Agency"), "viewer",
                       password="viewer passphrase 1")
    log_in(viewer, console, added["email"], "viewer passphrase 1")
    expect(viewer).to_have_url(re.compile(r"/dashboard$"))
    for their, may_act in ((member, True), (viewer, False)):
        their.get_by_role("table").get_by_role("link", name=DOMAIN).click()
        expect(their.locator("h1")).to_have_text(DOMAIN)
        expect(their.get_by_role("button", name="Delete site")).to_have_count(0)
        expect(their.get_by_role("button", name="Suspend")).to_have_count(1 if may_act else 0)
        expect(their.get_by_role("link", name="New site")).to_have_count(1 if may_act else 0)
        refused = their.request.post(f"{console}/sites/{site_id}/delete",
                                     form={"confirm": DOMAIN, "csrf_token": csrf_token(their)})
        assert refused.status == 403

    # Delete, confirmed by typing the domain (a wrong one is refused).
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site_url)
    page.get_by_label(f"Type {DOMAIN} to delete this site").fill("wrong.example.com")
    page.get_by_role("button", name="Delete site").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Type {DOMAIN} to confirm the deletion.")
    page.get_by_label(f"Type {DOMAIN} to delete this site").fill(DOMAIN.upper())
    page.get_by_role("button", name="Delete site").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("alert")).to_contain_text(f"{DOMAIN} is being deleted.")
    page.goto(site_url)
    expect(page.locator("#progress h2")).to_have_text("Delete: succeeded",
                                                      timeout=SLOW_MS)
    expect(page.locator("#site-status")).to_have_text("deleted")
    gone = visit.goto(f"http://{DOMAIN}/")
    assert "Hello from the browser" not in visit.content(), gone.status
