"""The scheduled work's services on a `local` VPS: daily backups at each site's own slot
(caught up once when missed), retention per plan, certificate renewals, usage snapshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from chom.extensions import db
from chom.models import Backup, Operation, Site, Tenant, UsageSnapshot
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services import backup_schedule, renewals, usage
from chom.services.backups import storage_used


def _site(account, domain):
    created = account.create_site(domain)
    assert account.wait_for_operation(created.json["meta"]["operation_id"])["status"] \
        == "succeeded"
    return created.json["data"]["id"]


def _age_sites(app, days: int) -> None:
    with app.app_context(), unscoped():
        db.session.execute(update(Site).values(created_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def test_daily_slots_spread_over_the_day_and_never_lie_ahead():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    slots = [backup_schedule.daily_slot(uuid.uuid4(), now) for _ in range(200)]
    assert all(now - timedelta(days=1) < slot <= now for slot in slots)
    assert len({(slot.hour, slot.minute) for slot in slots}) > 150


def test_due_sites_are_backed_up_once_per_slot(clean_app, register, local_vps):
    account = register("Daily Co")
    first, second = _site(account, "one.example.com"), _site(account, "two.example.com")
    with clean_app.app_context(), unscoped():
        # Just created: their first slot is still to come.
        assert backup_schedule.start_due_backups(utcnow()) == []
    _age_sites(clean_app, 2)
    with clean_app.app_context(), unscoped():
        started = backup_schedule.start_due_backups(utcnow())
        assert sorted(str(b.site_id) for b in started) == sorted([first, second])
        assert {b.trigger for b in started} == {"scheduled"}
        operation_ids = [str(b.operation_id) for b in started]
    for operation_id in operation_ids:
        assert account.wait_for_operation(operation_id)["status"] == "succeeded"
    with clean_app.app_context(), unscoped():
        assert backup_schedule.start_due_backups(utcnow()) == []  # nothing twice in a slot
        # A day later (the scheduler was down meanwhile): one backup each, not one per day.
        later = backup_schedule.start_due_backups(utcnow() + timedelta(days=3))
        assert len(later) == 2
        operation_ids = [str(b.operation_id) for b in later]
    for operation_id in operation_ids:
        assert account.wait_for_operation(operation_id)["status"] == "succeeded"


def test_retention_keeps_the_newest_backups_the_plan_allows(clean_app, register, local_vps):
    account = register("Keep Co")
    site_id = _site(account, "kept.example.com")
    ids = []
    for _ in range(4):
        response = account.post(f"/api/v1/sites/{site_id}/backups")
        assert account.wait_for_operation(response.json["meta"]["operation_id"])["status"] \
            == "succeeded"
        ids.append(response.json["data"]["id"])
    clean_app.config["CHOM_BACKUP_RETENTION"] = {"starter": 2, "pro": 30, "enterprise": 90}
    try:
        with clean_app.app_context(), unscoped():
            keys = {str(b.id): b.parts[0]["key"] for b in db.session.scalars(select(Backup))}
            assert backup_schedule.prune_backups(utcnow()) == 2
            kept = {str(b.id) for b in db.session.scalars(select(Backup))}
            assert kept == set(ids[2:])
            tenant = db.session.get(Tenant, uuid.UUID(account.tenant_id))
            remaining = sum(b.size_bytes for b in db.session.scalars(select(Backup)))
            assert storage_used(tenant) == remaining
        root = Path(clean_app.config["CHOM_BACKUP_DIR"])
        assert [b for b in ids[:2] if (root / keys[b]).exists()] == []
        assert all((root / keys[b]).exists() for b in ids[2:])
    finally:
        clean_app.config["CHOM_BACKUP_RETENTION"] = {"starter": 7, "pro": 30, "enterprise": 90}


def test_certificates_expiring_within_30_days_are_renewed(clean_app, register, local_vps):
    account = register("Cert Co")
    soon, later = _site(account, "soon.example.com"), _site(account, "later.example.com")
    clean_app.config["ACME_DIRECTORY_URL"] = "http://127.0.0.1:9/directory"  # nothing answers
    with clean_app.app_context(), unscoped():
        for site_id, days in ((soon, 10), (later, 60)):
            db.session.execute(update(Site).where(Site.id == uuid.UUID(site_id)).values(
                ssl_enabled=True, ssl_expires_at=utcnow() + timedelta(days=days)))
        db.session.commit()
        started = renewals.renew_expiring_certificates(utcnow())
        assert [str(op.site_id) for op in started] == [soon]
        operation_id = str(started[0].id)
    assert account.wait_for_operation(operation_id)["status"] in ("failed", "succeeded")
    with clean_app.app_context(), unscoped():
        kinds = db.session.scalars(select(Operation.kind).where(
            Operation.site_id == uuid.UUID(soon))).all()
        assert kinds.count("issue_ssl") == 1


def test_usage_snapshots_record_sites_and_backup_storage(clean_app, register, local_vps):
    account, other = register("Usage Co"), register("Idle Co")
    site_id = _site(account, "used.example.com")
    response = account.post(f"/api/v1/sites/{site_id}/backups")
    account.wait_for_operation(response.json["meta"]["operation_id"])
    with clean_app.app_context(), unscoped():
        usage.record_usage(utcnow())
        rows = {str(s.tenant_id): (s.sites, s.storage_bytes)
                for s in db.session.scalars(select(UsageSnapshot))}
        tenant = db.session.get(Tenant, uuid.UUID(account.tenant_id))
        assert rows == {account.tenant_id: (1, storage_used(tenant)),
                        other.tenant_id: (0, 0)}
        assert storage_used(tenant) > 0


def test_a_deleted_sites_backups_go_once_older_than_its_retention(clean_app, register,
                                                                 local_vps):
    account = register("Gone Co")
    site_id = _site(account, "gone.example.com")
    response = account.post(f"/api/v1/sites/{site_id}/backups")
    assert account.wait_for_operation(response.json["meta"]["operation_id"])["status"] \
        == "succeeded"
    deleted = account.delete(f"/api/v1/sites/{site_id}")
    assert account.wait_for_operation(deleted.json["data"]["id"])["status"] == "succeeded"
    with clean_app.app_context(), unscoped():
        assert backup_schedule.prune_backups(utcnow() + timedelta(days=6)) == 0  # starter: 7
        assert backup_schedule.prune_backups(utcnow() + timedelta(days=8)) == 1
        assert db.session.scalar(select(Backup)) is None
