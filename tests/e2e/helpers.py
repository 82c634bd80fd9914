"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

from chom.services import fleet as fleet_service


def add_fleet_host(app, host, **overrides) -> str:
    """Put a fleet host into CHOM's fleet (SSH, its pinned host key); returns the VPS name."""
    settings = overrides.pop("settings", None) or {**host.profile,
                                                   "ssh_key_path": host.client_key_path}
    with app.app_context():
        vps = fleet_service.add_vps(**host.add_vps_kwargs(settings=settings, **overrides))
        return vps.name
