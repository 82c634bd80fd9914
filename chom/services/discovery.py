"""Prometheus targets from CHOM's own rows (HTTP service discovery): each live site to probe,
labelled with its id, and each VPS's exporters, labelled with its name — the labels the alert
rules and CHOM's queries rely on. Platform-wide (system scope): served to Prometheus only."""

from __future__ import annotations

from sqlalchemy import select

from chom.extensions import db
from chom.models import Site, VpsServer
from chom.models.scoping import unscoped

PROBED_STATUSES = ("active",)
# Where each VPS's exporters listen (Debian's prometheus-node-exporter; nginx-vts-exporter).
EXPORTER_PORTS = {"node": 9100, "nginx": 9913}


def site_probe_targets() -> list[dict]:
    """One target group per active site: `https://<domain>/`, labels `site_id` and `vps`."""
    with unscoped():
        rows = db.session.execute(
            select(Site.id, Site.domain, Site.ssl_enabled, VpsServer.name)
            .outerjoin(VpsServer, VpsServer.id == Site.vps_id)
            .where(Site.status.in_(PROBED_STATUSES), Site.deleted_at.is_(None))
            .order_by(Site.domain)
        ).all()
    return [{"targets": [f"{'https' if ssl else 'http'}://{domain}/"],
             "labels": {"site_id": str(site_id), "vps": vps or ""}}
            for site_id, domain, ssl, vps in rows]


def exporter_targets(kind: str) -> list[dict]:
    """One target group per active VPS: its `kind` exporter (`node` or `nginx`), label `vps`."""
    port = EXPORTER_PORTS[kind]
    with unscoped():
        rows = db.session.execute(
            select(VpsServer.name, VpsServer.host).where(VpsServer.status == "active")
            .order_by(VpsServer.name)
        ).all()
    return [{"targets": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
             "labels": {"vps": name}} for name, host in rows]
