"""Schemas of the fleet endpoints (platform operators)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields


class FleetVps(ma.Schema):
    id = fields.String()
    name = fields.String()
    host = fields.String()
    port = fields.Integer()
    transport = fields.String()
    kind = fields.String(metadata={"description": "shared or dedicated"})
    status = fields.String()
    capacity = fields.Integer()
    used = fields.Integer(metadata={"description": "live sites placed on it"})


class FleetOut(ma.Schema):
    data = fields.List(fields.Nested(FleetVps))


def fleet_row(usage) -> dict:
    vps = usage.vps
    return {"id": str(vps.id), "name": vps.name, "host": vps.host, "port": vps.port,
            "transport": vps.transport, "kind": vps.kind, "status": vps.status,
            "capacity": vps.capacity, "used": usage.used}
