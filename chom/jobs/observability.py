"""Observability jobs: ids in, a service call, nothing else."""

from chom.services import dashboards


def refresh_dashboards(site_id: str) -> None:
    """Bring the Grafana dashboards of the site's tenant up to date (after it changed)."""
    dashboards.refresh_for_site(site_id)
