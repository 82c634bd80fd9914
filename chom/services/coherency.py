"""Coherency: does each active site's VPS hold what our database says the site is?

The site type's provision plan describes the site on its VPS (vhost, PHP pool, database,
files); `integration.drift` probes that plan read-only, one invocation per VPS for all its
sites. A step whose state is missing or different is drift. Repair is re-applying the plan
(an ordinary `repair` operation, queued and serialised like any other).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from chom.extensions import db
from chom.integration.drift import probe_plans
from chom.integration.executor import TransportError
from chom.integration.transports.pool import transport_for
from chom.models import Operation, Site
from chom.models.scoping import unscoped
from chom.services.lifecycles import site_type_plan
from chom.services.site_operations import start_operation
from chom.services.site_profile import profile_of

log = logging.getLogger(__name__)


@dataclass
class SiteCoherency:
    """What the probe found for one site: the steps that drifted, or why it could not look."""

    site_id: str
    domain: str
    vps: str
    drift: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def coherent(self) -> bool:
        return not self.drift and self.error is None

    def as_dict(self) -> dict:
        return {"site_id": self.site_id, "domain": self.domain, "vps": self.vps,
                "coherent": self.coherent, "drift": self.drift, "error": self.error}


def _probe_vps(sites: list[Site]) -> list[SiteCoherency]:
    vps = sites[0].vps
    reports, plans = [], []
    for site in sites:
        report = SiteCoherency(str(site.id), site.domain, vps.name)
        reports.append(report)
        try:
            plans.append((report, site_type_plan(site, "provision")))
        except Exception as error:  # a plugin's bug is this site's finding, not the sweep's end
            report.error = f"the plan could not be built: {type(error).__name__}: {error}"
    try:
        findings = probe_plans(transport_for(vps), [plan for _, plan in plans], profile_of(vps))
    except TransportError as error:
        for report, _ in plans:
            report.error = f"{vps.name} not reached: {error}"
        return reports
    for finding in findings:
        report, plan = plans[finding.plan - 1]
        if finding.drifted:
            report.drift.append(plan.steps[finding.step - 1].describe())
    return reports


def check_sites(site_ids: list | None = None) -> list[SiteCoherency]:
    """Probe every active site (or those of `site_ids`), one invocation per VPS.

    A platform-level sweep (CLI, scheduler): it reads across tenants on purpose."""
    with unscoped():
        query = select(Site).where(Site.status == "active", Site.deleted_at.is_(None))
        if site_ids is not None:
            query = query.where(Site.id.in_(site_ids))
        by_vps: dict = defaultdict(list)
        for site in db.session.scalars(query.order_by(Site.domain)):
            by_vps[site.vps_id].append(site)
        reports = []
        for sites in by_vps.values():
            reports.extend(_probe_vps(sites))
    for report in reports:
        if not report.coherent:
            log.warning("site %s (%s) drifted: %s", report.domain, report.site_id,
                        report.error or "; ".join(report.drift))
    return reports


def repair(reports: list[SiteCoherency]) -> list[Operation]:
    """Queue a `repair` operation (the provision plan again) for each drifted site that has
    none queued or running already (the scheduler asks every few minutes)."""
    operations = []
    with unscoped():
        for report in reports:
            if not report.drift:
                continue
            site_id = uuid.UUID(report.site_id)
            pending = db.session.scalar(select(Operation.id).where(
                Operation.site_id == site_id, Operation.kind == "repair",
                Operation.status.in_(("queued", "running"))).limit(1))
            if pending is None:
                site = db.session.get(Site, site_id)
                operations.append(start_operation(None, site, "repair"))
    return operations
