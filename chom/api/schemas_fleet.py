"""Schemas of the fleet endpoints (platform operators)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from chom.api.schemas import StrictSchema
from chom.services.domains import is_server_address

# Profile settings only the CLI sets: a key file on the control plane's own disk, and the
# `local` transport's folder. Over the API a VPS's key comes as `private_key`, stored encrypted.
CLI_ONLY_SETTINGS = ("ssh_key_path", "root")


def _server_address(value: str) -> None:
    if not is_server_address(value):
        raise ma.ValidationError("An IP address or a host name.")


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


class FleetVpsIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="Letters, digits, '.', '_' and '-' only."))
    host = fields.String(required=True, validate=_server_address)
    port = fields.Integer(load_default=22, validate=validate.Range(1, 65535))
    ssh_user = fields.String(load_default="root", validate=validate.Regexp(
        r"^[a-z_][a-z0-9_-]{0,31}$", error="A Unix user name."))
    capacity = fields.Integer(load_default=50, validate=validate.Range(1, 10_000),
                              metadata={"description": "sites it may hold"})
    dedicated = fields.Boolean(load_default=False,
                               metadata={"description": "reserved for one Enterprise tenant"})
    host_key = fields.String(load_default=None, validate=validate.Length(max=4096), metadata={
        "description": 'pin this key ("ssh-ed25519 AAAA..."); default: the key the host '
                       "presents now"})
    private_key = fields.String(load_default=None, load_only=True,
                                validate=validate.Length(max=16_384), metadata={
                                    "description": "this VPS's own SSH private key (PEM), "
                                                   "stored encrypted, never shown again"})
    settings = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "the VPS profile (paths, service commands)"})

    @ma.validates("settings")
    def _no_cli_only_settings(self, value, **_):
        taken = sorted(set(value) & set(CLI_ONLY_SETTINGS))
        if taken:
            raise ma.ValidationError(f"Not settable over the API: {', '.join(taken)}.")


class FleetVpsEnvelope(ma.Schema):
    data = fields.Nested(FleetVps)


class StackCheckOut(ma.Schema):
    vps = fields.Nested(FleetVps)
    stack = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "what was found: program → path, and `bash` → its version"})
    missing = fields.List(fields.String(), metadata={
        "description": "what the VPS lacks of the stack CHOM needs (empty: nothing)"})


class StackCheckEnvelope(ma.Schema):
    data = fields.Nested(StackCheckOut)
