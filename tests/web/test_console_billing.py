"""The console's billing page: plan, standing and usage, the organization's tenants, changing
plan through the fake Stripe (checkout, then a change of the one subscription), the refusal
that lists the sites to remove, the portal link and invoices; role-aware buttons."""

from __future__ import annotations

import re
from html import unescape

import pytest

from chom import create_app
from tests.api.test_members import _set_password
from tests.billing_helpers import deliver, drain, subscribe, usage
from tests.conftest import PASSWORD, base_config
from tests.members import add_member
from tests.web.test_console import _input, parse
from tests.web.test_console_team import _flash, _log_in


def _html(page) -> str:
    return page.get_data(as_text=True)


def _continue_link(page) -> str:
    """Where the page that opens Stripe sends the browser (its link and its refresh agree;
    no script: the CSP allows none inline)."""
    html = _html(page)
    assert "<script" not in html and 'style="' not in html
    link = unescape(re.search(r'<a id="continue" href="([^"]+)"', html).group(1))
    refresh = unescape(re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', html).group(1))
    assert link == refresh
    return link


def _meter(page, meter_id) -> dict:
    html = _html(page)
    tag = re.search(rf'<meter id="{meter_id}"[^>]*>', html).group(0)
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


def _member_browser(app, owner, role, tenant_ids=None):
    member = add_member(app, owner, role, tenant_ids)
    _set_password(app, member["user_id"])
    email = owner.client.get("/api/v1/auth/me", headers=member["headers"]).json["data"][
        "user"]["email"]
    return _log_in(app.test_client(), email)


def test_owner_sees_plan_usage_plans_and_the_organization(clean_app, register, local_vps):
    owner = register("Acme")
    created = owner.create_site("billed.example.com")
    owner.wait_for_operation(created.json["meta"]["operation_id"])
    second = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    browser = _log_in(clean_app.test_client(), owner.email)

    page = browser.get("/billing")
    assert page.status_code == 200
    html = _html(page)
    assert "Starter ($29.00/month)" in html and "trialing" in html and "trial ends" in html
    assert 'style="' not in html and "<script>" not in html  # the CSP allows none inline
    assert _meter(page, "usage-sites") == {"id": "usage-sites", "min": "0", "max": "5",
                                           "value": "1", "low": "4.0", "high": "4.75",
                                           "optimum": "0"}
    assert _meter(page, "usage-storage")["max"] == str(10 * 1024**3)
    parsed = parse(page)
    assert parsed.labels["usage-sites"] == "Sites: 1 of 5"
    radios = [i for i in parsed.inputs if i.get("name") == "plan"]
    assert [r["value"] for r in radios] == ["starter", "pro", "enterprise"]
    assert all(parsed.labels[r["id"]] for r in radios)  # each radio is labelled
    assert "checked" in radios[0]  # the current plan is chosen
    assert "Manage payment methods" in html and "No invoices yet." in html
    # The organization's view: both tenants, the other one linked to its own billing page.
    assert "Client B" in html and f'href="/billing?tenant={second}"' in html
    other = browser.get(f"/billing?tenant={second}")
    assert "Billing · Client B" in _html(other)
    assert f'action="/billing/plan?tenant={second}"' in _html(other)


def test_changing_plan_goes_through_checkout_then_changes_the_subscription(
        clean_app, register, stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    browser = _log_in(clean_app.test_client(), owner.email)
    assert "You pay on Stripe's checkout page" in _html(browser.get("/billing"))

    started = browser.post("/billing/plan", data={"plan": "pro"})
    assert started.status_code == 200
    url = _continue_link(started)
    [session] = [s for s in fake.sessions.values() if s["url"] == url]
    assert session["line_items_requested"] == [{"price": "price_chom_pro", "quantity": "1"}]
    assert session["success_url"].endswith("/billing?billing=success")
    assert usage(owner)["plan"] == "starter"  # nothing changes before Stripe says it is paid

    subscription = fake.complete_checkout(session["id"])
    paid = {k: v for k, v in fake.sessions[session["id"]].items()
            if not k.endswith("_requested")}
    assert deliver(owner.client, fake, fake.event("checkout.session.completed", paid)
                   ).status_code == 200
    drain(clean_app)
    page = browser.get("/billing?billing=success")
    assert "Pro ($79.00/month)" in _html(page) and "Thank you" in _html(page)
    assert "The subscription changes at once" in _html(page)

    changed = browser.post("/billing/plan", data={"plan": "enterprise"}, follow_redirects=True)
    assert "Acme is now on the enterprise plan." in _flash(changed)
    items = fake.subscriptions[subscription["id"]]["items"]["data"]
    assert [i["price"]["id"] for i in items] == ["price_chom_enterprise"]
    assert "Sites: 0 of unlimited" in _html(changed)
    assert 'id="usage-sites"' not in _html(changed)  # no bar without a limit

    again = browser.post("/billing/plan", data={"plan": "enterprise"}, follow_redirects=True)
    assert "already on the enterprise plan" in _flash(again)


def test_portal_link_and_invoices(clean_app, register, stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "starter")
    fake.add_invoice(subscription["id"], amount=2900)
    fake.add_invoice(subscription["id"], amount=7900, status="open")
    browser = _log_in(clean_app.test_client(), owner.email)

    html = _html(browser.get("/billing"))
    assert html.index("79.00 USD") < html.index("29.00 USD")  # newest first
    assert f'href="{stripe_server.url}/invoices/' in html
    assert "open" in html and "paid" in html

    opened = browser.post("/billing/portal")
    assert opened.status_code == 200
    url = _continue_link(opened)
    [portal] = [p for p in fake.portal_sessions.values() if p["url"] == url]
    assert portal["customer"] == subscription["customer"]


def test_stripe_unreachable_leaves_the_page_up_and_says_so(clean_app, register,
                                                           stripe_server):
    owner = register("Acme")
    subscribe(clean_app, owner, stripe_server.fake, "starter")
    browser = _log_in(clean_app.test_client(), owner.email)
    clean_app.config["STRIPE_SECRET_KEY"] = "sk_test_wrong"
    clean_app.extensions.pop("chom_stripe", None)
    try:
        page = browser.get("/billing")
        portal = browser.post("/billing/portal", follow_redirects=True)
        change = browser.post("/billing/plan", data={"plan": "pro"}, follow_redirects=True)
    finally:
        clean_app.config["STRIPE_SECRET_KEY"] = stripe_server.fake.api_key
        clean_app.extensions.pop("chom_stripe", None)
    assert page.status_code == 200 and "Starter ($29.00/month)" in _html(page)
    assert "Invoices could not be loaded" in _html(page)
    assert portal.status_code == 200 and _flash(portal).startswith("Stripe: ")
    assert change.status_code == 200 and _flash(change).startswith("Stripe: ")
    assert usage(owner)["plan"] == "starter"


def test_a_plan_below_usage_is_refused_listing_the_sites_inline(
        clean_app, register, local_vps, stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "pro")
    domains = [f"site{n}.example.com" for n in range(6)]
    for domain in domains:
        assert owner.create_site(domain).status_code == 202
    browser = _log_in(clean_app.test_client(), owner.email)

    refused = browser.post("/billing/plan", data={"plan": "starter"})
    assert refused.status_code == 409
    html = _html(refused)
    assert "Delete 1 of these sites first:" in html
    assert all(f"<li>{domain}</li>" in html for domain in domains)
    chosen = [i for i in parse(refused).inputs if i.get("name") == "plan" and "checked" in i]
    assert [i["value"] for i in chosen] == ["starter"]  # what was chosen stays chosen
    item = fake.subscriptions[subscription["id"]]["items"]["data"][0]
    assert item["price"]["id"] == "price_chom_pro" and usage(owner)["plan"] == "pro"


def test_an_unknown_plan_is_an_inline_error(clean_app, register):
    owner = register("Acme")
    browser = _log_in(clean_app.test_client(), owner.email)
    refused = browser.post("/billing/plan", data={"plan": "gold"})
    assert refused.status_code == 422
    assert re.search(r'class="field-error">One of: starter, pro, enterprise', _html(refused))


def test_past_due_shows_the_grace_warning(clean_app, register, stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "starter")
    past_due = fake.set_status(subscription["id"], "past_due")
    assert deliver(owner.client, fake, fake.event("customer.subscription.updated", past_due)
                   ).status_code == 200
    drain(clean_app)
    assert usage(owner)["standing"] == "grace"
    html = _html(_log_in(clean_app.test_client(), owner.email).get("/billing"))
    assert re.search(r'class="warning warning-grace" role="alert">Payment is past due: the '
                     r"sites will be suspended on ", html)
    assert "grace period ends" in html and "past due" in html


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_non_owners_see_plan_and_usage_but_no_billing_buttons(clean_app, register, role):
    owner = register("Acme")
    browser = _member_browser(clean_app, owner, role)
    page = browser.get("/billing")
    assert page.status_code == 200
    html = _html(page)
    assert "Starter ($29.00/month)" in html and "Sites: 0 of 5" in html
    assert "Enterprise" in html  # the plans are listed
    forms = [f for f in parse(page).forms if f.get("action", "").startswith("/billing")]
    assert forms == [] and "Manage payment methods" not in html
    assert 'id="org-heading"' not in html  # the organization's view is the owner's
    assert browser.post("/billing/plan", data={"plan": "pro"}).status_code == 403
    assert browser.post("/billing/portal").status_code == 403
    assert usage(owner)["plan"] == "starter"


def test_a_tenant_the_member_does_not_reach_is_a_404(clean_app, register):
    owner = register("Agency")
    client_b = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    browser = _member_browser(clean_app, owner, "member", tenant_ids=[client_b])
    assert "Billing · Client B" in _html(browser.get("/billing"))
    assert browser.get(f"/billing?tenant={owner.tenant_id}").status_code == 404
    other = register("Elsewhere")
    assert _log_in(clean_app.test_client(), owner.email).get(
        f"/billing?tenant={other.tenant_id}").status_code == 404


@pytest.fixture
def csrf_app(app, tmp_path):
    """A separate app with CSRF protection on, as in production."""
    return create_app(base_config(tmp_path, WTF_CSRF_ENABLED=True))


def test_billing_and_notification_forms_carry_a_csrf_token_and_need_it(csrf_app, register):
    owner = register("Acme")
    owner.post("/api/v1/notification-channels", json={"kind": "email", "target": "a@acme.test"})
    browser = csrf_app.test_client()
    token = _input(parse(browser.get("/login")), "csrf_token")["value"]
    assert browser.post("/login", data={"email": owner.email, "password": PASSWORD,
                                        "csrf_token": token}).status_code == 302
    for path, at_least in (("/billing", 2), ("/notifications", 4)):
        page = _html(browser.get(path))
        forms = re.findall(r"<form method=\"post\".*?</form>", page, flags=re.S)
        assert len(forms) >= at_least + 1, path  # and the log-out form
        assert all('name="csrf_token"' in form for form in forms), path
    channel_id = owner.get("/api/v1/notification-channels").json["data"][0]["id"]
    for path, data in (("/billing/plan", {"plan": "pro"}), ("/billing/portal", {}),
                       ("/notifications", {"kind": "email", "target": "b@acme.test"}),
                       (f"/notifications/{channel_id}/delete", {}),
                       (f"/notifications/{channel_id}/test", {})):
        assert browser.post(path, data=data).status_code == 400, path
    assert len(owner.get("/api/v1/notification-channels").json["data"]) == 1
    assert usage(owner)["plan"] == "starter"
