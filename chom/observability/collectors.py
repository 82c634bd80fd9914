"""Business metrics, computed at scrape time from the database and the job queue.

Nothing here is kept in process memory: every web process answers the same figures (they are
read from PostgreSQL and Redis on each scrape), so it does not matter which gunicorn worker a
scrape lands on, and nothing needs multiprocess aggregation. Each family is one aggregate query
(GROUP BY), never a loop over rows. Labels are bounded: site type, status, operation kind, queue
name, VPS name (the operator's small fleet) — never a tenant, user or domain.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from sqlalchemy import case, func, select

from chom.extensions import db
from chom.integration.queue import current_queue
from chom.models import Operation, Site, VpsServer
from chom.models.scoping import unscoped
from chom.models.sites import OPERATION_STATUSES, SITE_STATUSES
from chom.reliability.breakers import (
    backend_breaker,
    breaker_for,
    database_breaker,
    state_value,
)

log = logging.getLogger(__name__)

# Provisioning runs take seconds to tens of minutes; the bounds are fixed (bounded series).
OPERATION_DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
FINISHED_STATUSES = ("succeeded", "failed")
VPS_STATUSES = ("active",)  # zero-filled; any other status in the table shows as found


def _duration_seconds(dialect: str):
    """`finished_at - started_at` in seconds, in the database's own arithmetic."""
    if dialect == "sqlite":
        return (func.julianday(Operation.finished_at) - func.julianday(Operation.started_at)) * (
            86400.0
        )
    return func.extract("epoch", Operation.finished_at - Operation.started_at)


class BusinessCollector:
    """A prometheus_client custom collector: `collect()` runs once per scrape."""

    def __init__(self, app, namespace: str) -> None:
        self.app = app
        self.ns = namespace

    def describe(self) -> Iterable[Metric]:
        # Registering must not query the database (no app context then): nothing to declare.
        return ()

    def _name(self, name: str) -> str:
        return f"{self.ns}_{name}" if self.ns else name

    def collect(self) -> Iterator[Metric]:
        from flask import has_app_context

        up = GaugeMetricFamily(self._name("metrics_source_up"),
                               "Whether the source of business metrics answered this scrape",
                               labels=["source"])
        took = GaugeMetricFamily(self._name("metrics_source_duration_seconds"),
                                 "Time spent reading business metrics from the source",
                                 labels=["source"])
        context = contextlib.nullcontext() if has_app_context() else self.app.app_context()
        with context:
            for source, produce in (("database", self._database_metrics),
                                    ("queue", self._queue_metrics),
                                    ("breakers", self._breaker_metrics)):
                started = time.perf_counter()
                families, ok = self._read(source, produce)
                up.add_metric([source], ok)
                took.add_metric([source], time.perf_counter() - started)
                yield from families
        yield up
        yield took

    def _read(self, source: str, produce) -> tuple[list[Metric], int]:
        """One source's families; a failing source is reported down, the scrape still answers."""
        try:
            return list(produce()), 1
        except Exception:
            log.exception("business metrics from %s failed", source)
            if source == "database":
                with contextlib.suppress(Exception):
                    db.session.rollback()
            return [], 0

    # -- database ---------------------------------------------------------------------------

    def _database_metrics(self) -> Iterator[Metric]:
        with unscoped():  # platform-wide figures: the scrape has no tenant, and must see all
            yield self._sites()
            yield from self._operations()
            yield from self._fleet()

    def _breaker_metrics(self) -> Iterator[Metric]:
        yield self._breakers()

    def _sites(self) -> Metric:
        rows = db.session.execute(
            select(Site.type, Site.status, func.count()).group_by(Site.type, Site.status)
        ).all()
        counts = {(kind, status): n for kind, status, n in rows}
        # Zero series for every known type and status, so an alert on "failed > 0" has a series.
        types = set(self.app.extensions.get("chom_site_types", {})) | {k for k, _ in counts}
        statuses = set(SITE_STATUSES) | {s for _, s in counts}
        family = GaugeMetricFamily(self._name("sites"), "Sites by type and status",
                                   labels=["type", "status"])
        for kind in sorted(types):
            for status in sorted(statuses):
                family.add_metric([kind, status], counts.get((kind, status), 0))
        return family

    def _operations(self) -> Iterator[Metric]:
        rows = db.session.execute(
            select(Operation.kind, Operation.status, func.count())
            .group_by(Operation.kind, Operation.status)
        ).all()
        counts = {(kind, status): n for kind, status, n in rows}
        kinds = {k for k, _ in counts}
        statuses = set(OPERATION_STATUSES) | {s for _, s in counts}
        family = GaugeMetricFamily(self._name("operations"), "Operations by kind and status",
                                   labels=["kind", "status"])
        for kind in sorted(kinds):
            for status in sorted(statuses):
                family.add_metric([kind, status], counts.get((kind, status), 0))
        yield family
        yield self._operation_durations()

    def _operation_durations(self) -> Metric:
        """A histogram of finished operations, its buckets counted by the database in one pass."""
        duration = _duration_seconds(db.engine.dialect.name)
        bucket_columns = [
            func.sum(case((duration <= bound, 1), else_=0)) for bound in OPERATION_DURATION_BUCKETS
        ]
        rows = db.session.execute(
            select(Operation.kind, Operation.status, func.count(), func.sum(duration),
                   *bucket_columns)
            .where(Operation.status.in_(FINISHED_STATUSES),
                   Operation.started_at.is_not(None), Operation.finished_at.is_not(None))
            .group_by(Operation.kind, Operation.status)
        ).all()
        family = HistogramMetricFamily(
            self._name("operation_duration_seconds"),
            "Duration of finished operations (started to finished) by kind and outcome",
            labels=["kind", "status"],
        )
        for kind, status, count, total, *cumulative in sorted(rows, key=lambda r: (r[0], r[1])):
            buckets = [(floatToGoString(bound), float(n or 0))
                       for bound, n in zip(OPERATION_DURATION_BUCKETS, cumulative, strict=True)]
            buckets.append(("+Inf", float(count)))
            family.add_metric([kind, status], buckets, sum_value=float(total or 0))
        return family

    def _fleet(self) -> Iterator[Metric]:
        live = (
            select(Site.vps_id, func.count().label("used"))
            .where(Site.deleted_at.is_(None), Site.vps_id.is_not(None))
            .group_by(Site.vps_id)
            .subquery()
        )
        rows = db.session.execute(
            select(VpsServer.name, VpsServer.status, VpsServer.capacity,
                   func.coalesce(live.c.used, 0))
            .outerjoin(live, live.c.vps_id == VpsServer.id)
            .order_by(VpsServer.name)
        ).all()
        capacity = GaugeMetricFamily(self._name("vps_capacity_sites"),
                                     "Sites a VPS may hold", labels=["vps"])
        used = GaugeMetricFamily(self._name("vps_used_sites"),
                                 "Live (not deleted) sites placed on a VPS", labels=["vps"])
        by_status: dict[str, int] = dict.fromkeys(VPS_STATUSES, 0)
        for name, status, cap, n in rows:
            capacity.add_metric([name], cap)
            used.add_metric([name], n)
            by_status[status] = by_status.get(status, 0) + 1
        servers = GaugeMetricFamily(self._name("vps_servers"), "VPS servers by status",
                                    labels=["status"])
        for status in sorted(by_status):
            servers.add_metric([status], by_status[status])
        yield capacity
        yield used
        yield servers

    def _breakers(self) -> Metric:
        """The database's, each SSH VPS's and each observability backend's circuit breaker, as
        stored (in Redis in rq mode: shared by all). With the database down, its own breaker
        is still reported (the VPS list is what is missing)."""
        try:
            with unscoped():
                rows = db.session.execute(
                    select(VpsServer.id, VpsServer.name).where(VpsServer.transport == "ssh")
                    .order_by(VpsServer.name)
                ).all()
        except Exception:
            log.warning("VPS list unreadable for their breakers' states")
            with contextlib.suppress(Exception):
                db.session.rollback()
            rows = []
        family = GaugeMetricFamily(self._name("circuit_breaker_state"),
                                   "Circuit breaker state: 0 closed, 1 half-open, 2 open",
                                   labels=["service", "name"])
        for row in rows:
            try:  # Redis not answering must not take the database's families down with it
                family.add_metric(["vps", row.name], state_value(breaker_for(row)))
            except Exception:
                log.exception("circuit breaker state of %s unreadable", row.name)
        try:
            family.add_metric(["database", "database"],
                              state_value(database_breaker(self.app)))
        except Exception:
            log.exception("circuit breaker state of the database unreadable")
        for name in sorted(self.app.extensions.get("chom_observability", {})):
            try:
                family.add_metric([name, name], state_value(backend_breaker(name)))
            except Exception:
                log.exception("circuit breaker state of %s unreadable", name)
        return family

    # -- queue ------------------------------------------------------------------------------

    def _queue_metrics(self) -> Iterator[Metric]:
        queue = current_queue()
        name = self.app.config.get("CHOM_QUEUE_NAME", "chom")
        depth = GaugeMetricFamily(self._name("queue_depth"), "Jobs waiting in the queue",
                                  labels=["queue"])
        depth.add_metric([name], queue.depth())
        failed = GaugeMetricFamily(self._name("queue_failed_jobs"),
                                   "Jobs in the queue's failed-job registry", labels=["queue"])
        failed.add_metric([name], queue.failed_count())
        yield depth
        yield failed
