"""`ssl.expiring`: a site's certificate expires within a week and renewal has not replaced it.

Renewal starts 30 days before expiry (`services.renewals`); a certificate still a week from its
end means renewal keeps failing, and the organization hears about it once per certificate.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from chom.extensions import db
from chom.models import Site
from chom.models.scoping import unscoped
from chom.services import notifications
from chom.services.once import first_time

WARN_BEFORE = timedelta(days=7)


def warn_expiring_certificates(now: datetime) -> int:
    """Announce each live site's certificate that expires within `WARN_BEFORE`, once per
    certificate (its expiry). Returns how many were announced."""
    with unscoped():
        sites = db.session.scalars(select(Site).where(
            Site.ssl_enabled.is_(True), Site.deleted_at.is_(None),
            Site.ssl_expires_at.is_not(None), Site.ssl_expires_at <= now + WARN_BEFORE,
        ).order_by(Site.ssl_expires_at)).all()
    announced = 0
    for site in sites:
        if not first_time(f"ssl-expiring:{site.id}:{site.ssl_expires_at:%Y%m%dT%H%M}",
                          "ssl-expiring"):
            continue
        days = max(0, (site.ssl_expires_at - now).days)
        notifications.notify_tenant(site.tenant_id, "ssl.expiring", {
            "site_id": str(site.id), "domain": site.domain,
            "expires_at": site.ssl_expires_at.isoformat(), "days_left": days})
        announced += 1
    return announced
