"""Billing through the real stripe library against the fake Stripe API: plans, checkout,
plan changes on the one subscription, the portal, invoices, downgrades refused, quotas."""

import uuid

from sqlalchemy import select

from chom.extensions import db
from chom.models import AuditLog, Backup, Site
from tests.billing_helpers import subscribe, usage


def test_plans_come_from_configuration(register):
    owner = register("Acme")
    plans = owner.get("/api/v1/billing/plans").json["data"]
    assert [(p["name"], p["price_cents"], p["max_sites"], p["storage_gb"], p["dedicated_vps"])
            for p in plans] == [("starter", 2900, 5, 10, False), ("pro", 7900, 25, 100, False),
                                ("enterprise", 24900, None, None, True)]


def test_first_tenant_starts_on_a_starter_trial(register):
    owner = register("Acme")
    found = usage(owner)
    assert (found["plan"], found["status"], found["standing"], found["subscribed"]) == (
        "starter", "trialing", "ok", False)
    assert found["trial_ends_at"] is not None
    assert found["usage"] == {"sites": 0, "max_sites": 5, "storage_bytes": 0,
                              "storage_limit_bytes": 10 * 1024**3}


def test_checkout_then_payment_puts_the_tenant_on_the_plan(clean_app, register, stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    started = owner.post("/api/v1/billing/checkout", json={"plan": "pro"})
    assert started.status_code == 200
    data = started.json["data"]
    assert data["action"] == "checkout" and data["url"].startswith(stripe_server.url)
    session = fake.sessions[data["session_id"]]
    assert session["line_items_requested"] == [{"price": "price_chom_pro", "quantity": "1"}]
    assert session["subscription_data_requested"]["metadata"]["chom_tenant"] == owner.tenant_id
    assert usage(owner)["plan"] == "starter"  # nothing changes before Stripe says it is paid

    subscribe(clean_app, owner, fake, "pro")
    found = usage(owner)
    assert (found["plan"], found["status"], found["subscribed"]) == ("pro", "active", True)
    assert found["usage"]["max_sites"] == 25
    with clean_app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"billing.customer_created", "billing.checkout_started"} <= actions


def test_plan_change_and_second_tenant_use_the_one_subscription(clean_app, register,
                                                                stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "starter")

    changed = owner.post("/api/v1/billing/checkout", json={"plan": "enterprise"})
    assert changed.status_code == 200, changed.json
    assert changed.json["data"]["action"] == "changed"
    assert changed.json["data"]["tenant"]["plan"] == "enterprise"
    items = fake.subscriptions[subscription["id"]]["items"]["data"]
    assert [i["price"]["id"] for i in items] == ["price_chom_enterprise"]

    second = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    added = owner.post("/api/v1/billing/checkout", json={"plan": "pro"},
                       headers={"X-Tenant-ID": second})
    assert added.status_code == 200 and added.json["data"]["action"] == "changed"
    items = fake.subscriptions[subscription["id"]]["items"]["data"]
    assert [(i["price"]["id"], i["metadata"].get("chom_tenant")) for i in items] == [
        ("price_chom_enterprise", None), ("price_chom_pro", second)]

    view = owner.get("/api/v1/billing/subscription").json["data"]
    assert view["status"] == "active"
    assert {t["tenant_id"]: t["plan"] for t in view["tenants"]} == {
        owner.tenant_id: "enterprise", second: "pro"}
    assert view["monthly_cents"] == 24900 + 7900
    assert view["totals"] == {"sites": 0, "storage_bytes": 0}
    again = owner.post("/api/v1/billing/checkout", json={"plan": "pro"},
                       headers={"X-Tenant-ID": second})
    assert again.status_code == 409


def test_downgrade_below_usage_is_refused_listing_the_sites(clean_app, register, local_vps,
                                                            stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "pro")
    domains = [f"site{n}.example.com" for n in range(6)]
    for domain in domains:
        assert owner.create_site(domain).status_code == 202

    refused = owner.post("/api/v1/billing/checkout", json={"plan": "starter"})
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    body = refused.json
    assert body["type"].endswith("/plan-too-small")
    assert body["remove_sites"] == 1 and sorted(body["sites"]) == sorted(domains)
    assert "remove 1" in body["detail"]
    item = fake.subscriptions[subscription["id"]]["items"]["data"][0]
    assert item["price"]["id"] == "price_chom_pro"
    assert usage(owner)["plan"] == "pro"


def test_storage_counts_backups_against_the_plan(clean_app, register, local_vps):
    owner = register("Acme")
    site_id = owner.create_site("stored.example.com").json["data"]["id"]
    # Backup.size_bytes is a 32-bit column today: 10 GiB as six backups.
    sizes = [2**31 - 1] * 5 + [10 * 1024**3 - 5 * (2**31 - 1)]
    with clean_app.app_context():
        db.session.add_all([Backup(tenant_id=uuid.UUID(owner.tenant_id),
                                   site_id=uuid.UUID(site_id), status="completed",
                                   size_bytes=size) for size in sizes])
        db.session.commit()
    assert usage(owner)["usage"]["storage_bytes"] == 10 * 1024**3
    refused = owner.create_site("more.example.com")
    assert refused.status_code == 402
    assert refused.json["type"].endswith("/quota-exceeded")
    assert "storage" in refused.json["detail"]
    downgrade = owner.post("/api/v1/billing/checkout", json={"plan": "starter"})
    assert downgrade.status_code == 200  # same limits: fits (not more than the limit)
    with clean_app.app_context():
        assert db.session.scalar(select(Site.domain).where(Site.domain == "more.example.com")
                                 ) is None


def test_unknown_plan_is_a_validation_problem(register):
    owner = register("Acme")
    answer = owner.post("/api/v1/billing/checkout", json={"plan": "gold"})
    assert answer.status_code == 422
    assert "plan" in answer.json["errors"]


def test_portal_link_and_invoices_come_from_stripe(clean_app, register, stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    assert owner.get("/api/v1/billing/invoices").json["data"] == []  # no customer yet
    portal = owner.post("/api/v1/billing/portal")
    assert portal.status_code == 200
    url = portal.json["data"]["url"]
    opened = next(p for p in fake.portal_sessions.values() if p["url"] == url)
    assert opened["return_url"].endswith("billing=portal")

    subscription = subscribe(clean_app, owner, fake, "starter")
    assert subscription["customer"] == opened["customer"]  # one customer per organization
    fake.add_invoice(subscription["id"], amount=2900)
    fake.add_invoice(subscription["id"], amount=7900, status="open")
    invoices = owner.get("/api/v1/billing/invoices").json["data"]
    assert [(i["amount_due"], i["amount_paid"], i["status"]) for i in invoices] == [
        (7900, 0, "open"), (2900, 2900, "paid")]
    assert invoices[0]["hosted_invoice_url"].startswith(stripe_server.url)
    assert len(owner.get("/api/v1/billing/invoices?limit=1").json["data"]) == 1
    with clean_app.app_context():
        assert db.session.scalar(select(AuditLog).where(
            AuditLog.action == "billing.portal_opened")) is not None


def test_stripe_refusing_is_a_503_problem(clean_app, register, stripe_server):
    owner = register("Acme")
    clean_app.config["STRIPE_SECRET_KEY"] = "sk_test_wrong"
    clean_app.extensions.pop("chom_stripe", None)
    try:
        answer = owner.post("/api/v1/billing/portal")
    finally:
        clean_app.config["STRIPE_SECRET_KEY"] = stripe_server.fake.api_key
        clean_app.extensions.pop("chom_stripe", None)
    assert answer.status_code == 503
    assert answer.json["type"].endswith("/billing-unavailable")


def test_deleting_a_billed_tenant_takes_its_item_off_the_subscription(clean_app, register,
                                                                      stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "starter")
    second = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    assert owner.post("/api/v1/billing/checkout", json={"plan": "pro"},
                      headers={"X-Tenant-ID": second}).status_code == 200
    assert len(fake.subscriptions[subscription["id"]]["items"]["data"]) == 2
    assert owner.delete(f"/api/v1/tenants/{second}").status_code == 204
    items = fake.subscriptions[subscription["id"]]["items"]["data"]
    assert [i["price"]["id"] for i in items] == ["price_chom_starter"]
    assert fake.subscriptions[subscription["id"]]["status"] == "active"
    with clean_app.app_context():
        assert db.session.scalar(select(AuditLog).where(
            AuditLog.action == "billing.tenant_released")) is not None


def test_deleting_the_only_billed_tenant_cancels_the_subscription(clean_app, register,
                                                                  stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    second = owner.post("/api/v1/tenants", json={"name": "Client B"}).json["data"]["id"]
    subscription = subscribe(clean_app, owner, fake, "pro", headers={"X-Tenant-ID": second})
    assert usage(owner, headers={"X-Tenant-ID": second})["subscribed"] is True
    assert usage(owner)["subscribed"] is False  # the first tenant is still on its trial
    assert owner.delete(f"/api/v1/tenants/{second}").status_code == 204
    assert fake.subscriptions[subscription["id"]]["status"] == "canceled"
    assert usage(owner)["status"] == "trialing"
