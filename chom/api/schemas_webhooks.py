"""Schemas of incoming webhooks other than Stripe's (whose body is verified raw)."""

import marshmallow as ma
from marshmallow import fields


class _Lenient(ma.Schema):
    """Alertmanager's documented fields are read; anything it adds is ignored."""

    class Meta:
        unknown = ma.EXCLUDE


class AlertmanagerAlert(_Lenient):
    status = fields.String(required=True)
    labels = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    annotations = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    startsAt = fields.String(load_default=None)  # noqa: N815 (Alertmanager's field name)
    fingerprint = fields.String(load_default=None)


class AlertmanagerPayload(_Lenient):
    """Alertmanager's webhook body (version 4)."""

    version = fields.String()
    status = fields.String()
    alerts = fields.List(fields.Nested(AlertmanagerAlert), required=True)


class AlertmanagerAnswer(ma.Schema):
    received = fields.Boolean()
    announced = fields.Integer(metadata={"description": "notifications queued"})
