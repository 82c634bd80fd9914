"""The recurring work `flask chom scheduler` enqueues, and how often (a table, not code).

Each job runs in a worker, in the app context, in the system scope, and calls one service.
All are safe to run twice: each looks at the state of things, not at how often it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chom.integration.scheduler import LeaderCronScheduler
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services import (
    backup_schedule,
    billing_sync,
    coherency,
    expiry_warnings,
    provisioning,
    renewals,
    usage,
)


def daily_backups() -> None:
    """Back up each active site whose daily slot (spread by its id) has passed."""
    with unscoped():
        backup_schedule.start_due_backups(utcnow())


def certificate_renewals() -> None:
    """Renew certificates that expire within 30 days."""
    with unscoped():
        renewals.renew_expiring_certificates(utcnow())


def reconcile() -> None:
    """Health and coherency (`flask chom reconcile`): resume operations whose job stopped,
    then compare each active site with its VPS and repair drift."""
    provisioning.resume_stalled_operations()
    coherency.repair(coherency.check_sites())


def backup_retention() -> None:
    """Delete backups beyond what each plan keeps."""
    with unscoped():
        backup_schedule.prune_backups(utcnow())


def certificate_expiry_warnings() -> None:
    """Announce certificates a week from their end (renewal keeps failing)."""
    expiry_warnings.warn_expiring_certificates(utcnow())


def billing_standing() -> None:
    """Suspend the sites of tenants past their grace or trial; resume those that paid."""
    billing_sync.enforce_standing()


def usage_snapshots() -> None:
    """Record each tenant's usage for billing."""
    with unscoped():
        usage.record_usage(utcnow())


@dataclass(frozen=True)
class Recurring:
    name: str
    func: Callable[[], None]
    #: seconds between runs (`CHOM_SCHEDULE_INTERVALS` overrides by name)
    every: int


RECURRING = (
    # Often, so each site's slot is met within minutes; the slot itself is daily.
    Recurring("daily-backups", daily_backups, 600),
    Recurring("certificate-renewals", certificate_renewals, 6 * 3600),
    Recurring("reconcile", reconcile, 300),
    Recurring("backup-retention", backup_retention, 6 * 3600),
    Recurring("usage-snapshots", usage_snapshots, 3600),
    Recurring("certificate-expiry-warnings", certificate_expiry_warnings, 6 * 3600),
    Recurring("billing-standing", billing_standing, 3600),
)


def build_scheduler(config, connection) -> LeaderCronScheduler:
    """rq's cron scheduler with one leader, and every `RECURRING` job registered on the app's
    queue."""
    scheduler = LeaderCronScheduler(connection, lock_ttl=config["CHOM_SCHEDULER_LOCK_TTL"],
                                    tick=config["CHOM_SCHEDULER_TICK_SECONDS"])
    overrides = config.get("CHOM_SCHEDULE_INTERVALS") or {}
    for recurring in RECURRING:
        scheduler.register(recurring.func, config["CHOM_QUEUE_NAME"], name=recurring.name,
                           interval=overrides.get(recurring.name, recurring.every),
                           job_timeout=3600)
    return scheduler
