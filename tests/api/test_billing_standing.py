"""Subscription state drives the sites: past due is a grace period with a warning, then (or
at once when canceled) the tenant's sites are suspended and none can be created; paying
resumes exactly the sites billing suspended."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import AuditLog, Tenant
from chom.services import billing_sync
from tests.billing_helpers import deliver, drain, subscribe, usage


def _site_states(owner) -> dict:
    return {s["domain"]: s["status"] for s in owner.get("/api/v1/sites").json["data"]}


def _served_suspended(local_vps, domain: str) -> bool:
    conf = local_vps["root"] / f"etc/nginx/sites-enabled/{domain}.conf"
    return "return 503" in conf.read_text()


def _move_back(owner, column: str, *, days: int) -> None:
    """As if `days` had passed since `column` was written."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == uuid.UUID(owner.tenant_id)))
    setattr(tenant, column, getattr(tenant, column) - timedelta(days=days))
    db.session.commit()


def _active_sites(owner, *domains):
    for domain in domains:
        created = owner.create_site(domain)
        assert created.status_code == 202, created.json
        assert owner.wait_for_operation(created.json["meta"]["operation_id"])["status"] == \
            "succeeded"


def test_past_due_grace_then_suspension_then_resume_on_payment(clean_app, register, local_vps,
                                                               stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "starter")
    _active_sites(owner, "one.example.com", "two.example.com")
    # A site the customer suspended themselves stays suspended when billing resumes.
    own = owner.get("/api/v1/sites").json["data"]
    mine = next(s["id"] for s in own if s["domain"] == "two.example.com")
    owner.wait_for_operation(owner.post(f"/api/v1/sites/{mine}/suspend").json["data"]["id"])

    # Payment fails: past due, a grace period with a warning; sites run, creating works.
    fake.set_status(subscription["id"], "past_due")
    failed = fake.add_invoice(subscription["id"], amount=2900, status="open")
    assert deliver(owner.client, fake, fake.event("invoice.payment_failed", failed)
                   ).status_code == 200
    drain(clean_app)
    found = usage(owner)
    assert (found["status"], found["standing"]) == ("past_due", "grace")
    assert "past due" in found["warning"] and found["grace_ends_at"]
    _active_sites(owner, "three.example.com")
    with clean_app.app_context():
        assert billing_sync.enforce_standing() == 0

    # Eight days later (the grace is 7): the periodic check suspends the sites.
    with clean_app.app_context():
        _move_back(owner, "past_due_since", days=8)
        assert billing_sync.enforce_standing() == 1
    drain(clean_app)
    assert _site_states(owner) == {"one.example.com": "suspended",
                                   "two.example.com": "suspended",
                                   "three.example.com": "suspended"}
    assert _served_suspended(local_vps, "one.example.com")
    assert usage(owner)["standing"] == "blocked"
    refused = owner.create_site("four.example.com")
    assert refused.status_code == 402
    assert refused.json["type"].endswith("/payment-required")
    one = next(s["id"] for s in owner.get("/api/v1/sites").json["data"]
               if s["domain"] == "one.example.com")
    assert owner.post(f"/api/v1/sites/{one}/resume").status_code == 402

    # Paid: Stripe's subscription is active again; billing's suspensions are lifted.
    fake.set_status(subscription["id"], "active")
    paid = fake.add_invoice(subscription["id"], amount=2900)
    assert deliver(owner.client, fake, fake.event("invoice.paid", paid)).status_code == 200
    drain(clean_app)
    assert _site_states(owner) == {"one.example.com": "active",
                                   "two.example.com": "suspended",
                                   "three.example.com": "active"}
    assert not _served_suspended(local_vps, "one.example.com")
    found = usage(owner)
    assert (found["status"], found["standing"], found["warning"]) == ("active", "ok", None)
    assert owner.create_site("four.example.com").status_code == 202
    with clean_app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action).where(
            AuditLog.action.startswith("billing.sites_")).order_by(AuditLog.created_at)))
        system = db.session.scalars(select(AuditLog.actor_user_id).where(
            AuditLog.action == "site.suspend", AuditLog.actor_user_id.is_(None))).all()
    assert actions == ["billing.sites_suspended", "billing.sites_resumed"]
    assert len(system) == 2  # one.example.com and three.example.com, by billing itself


def test_cancellation_suspends_at_once(clean_app, register, local_vps, stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "pro")
    _active_sites(owner, "gone.example.com")
    canceled = fake.set_status(subscription["id"], "canceled")
    assert deliver(owner.client, fake, fake.event("customer.subscription.deleted", canceled)
                   ).status_code == 200
    drain(clean_app)
    assert _site_states(owner) == {"gone.example.com": "suspended"}
    found = usage(owner)
    assert (found["status"], found["standing"]) == ("canceled", "blocked")
    assert owner.create_site("new.example.com").status_code == 402
    # Subscribing again (a new checkout, as the old subscription ended) resumes the site.
    subscribe(clean_app, owner, fake, "pro")
    assert _site_states(owner) == {"gone.example.com": "active"}


def test_an_ended_trial_blocks_new_sites(clean_app, register, local_vps):
    owner = register("Acme")
    with clean_app.app_context():
        _move_back(owner, "trial_ends_at", days=15)
    refused = owner.create_site("late.example.com")
    assert refused.status_code == 402
    assert "trial" in refused.json["detail"]


def test_billing_enforce_command_suspends_after_the_grace(clean_app, register, local_vps,
                                                         stripe_server):
    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "starter")
    _active_sites(owner, "cli.example.com")
    past_due = fake.set_status(subscription["id"], "past_due")
    deliver(owner.client, fake, fake.event("customer.subscription.updated", past_due))
    drain(clean_app)
    runner = clean_app.test_cli_runner()
    assert runner.invoke(args=["chom", "billing", "enforce"]).output == "0 tenant(s) changed.\n"
    with clean_app.app_context():
        _move_back(owner, "past_due_since", days=8)
    assert runner.invoke(args=["chom", "billing", "enforce"]).output == "1 tenant(s) changed.\n"
    drain(clean_app)
    assert _site_states(owner) == {"cli.example.com": "suspended"}


def test_a_site_that_turns_active_while_blocked_is_suspended_by_the_next_check(
        clean_app, register, local_vps, stripe_server):
    from chom.models import Site

    fake = stripe_server.fake
    owner = register("Acme")
    subscription = subscribe(clean_app, owner, fake, "starter")
    _active_sites(owner, "early.example.com", "late.example.com")
    with clean_app.app_context():  # as if `late` were still provisioning at cancellation
        late = db.session.scalar(select(Site).where(Site.domain == "late.example.com"))
        late.status = "provisioning"
        db.session.commit()
    canceled = fake.set_status(subscription["id"], "canceled")
    deliver(owner.client, fake, fake.event("customer.subscription.deleted", canceled))
    drain(clean_app)
    assert _site_states(owner) == {"early.example.com": "suspended",
                                   "late.example.com": "provisioning"}
    with clean_app.app_context():  # ...and its provisioning has finished since
        late = db.session.scalar(select(Site).where(Site.domain == "late.example.com"))
        late.status = "active"
        db.session.commit()
        billing_sync.enforce_standing()
    drain(clean_app)
    assert _site_states(owner) == {"early.example.com": "suspended",
                                   "late.example.com": "suspended"}
    assert _served_suspended(local_vps, "late.example.com")
