"""Schemas of the observability endpoints: metrics, logs, alerts, silences, backend health."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from chom.services.observability import MAX_LOG_LINES, RANGES


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class SourceMeta(ma.Schema):
    """Where the answer comes from: `degraded` answers are the backend's last good one."""

    degraded = fields.Boolean(required=True)
    age_seconds = fields.Float(metadata={"description": "Age of a degraded answer."})
    reason = fields.String(metadata={"description": "Why the backend could not answer."})


class MetricsArgs(ma.Schema):
    range = fields.String(load_default="1h", validate=validate.OneOf(sorted(RANGES)))


class Series(ma.Schema):
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    values = fields.List(fields.List(fields.Float()),
                         metadata={"description": "[unix seconds, value] pairs"})


class SiteMetrics(ma.Schema):
    site_id = fields.String()
    range = fields.String()
    step = fields.Float()
    series = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(Series)),
                         metadata={"description": "requests, errors (per second), "
                                                  "latency_p95 (seconds)"})


class SiteMetricsOut(ma.Schema):
    data = fields.Nested(SiteMetrics)
    meta = fields.Nested(SourceMeta)


class VpsMetrics(ma.Schema):
    vps = fields.String()
    range = fields.String()
    step = fields.Float()
    series = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(Series)),
                         metadata={"description": "cpu, memory, disk (ratios of 1)"})


class VpsMetricsOut(ma.Schema):
    data = fields.Nested(VpsMetrics)
    meta = fields.Nested(SourceMeta)


class LogsArgs(ma.Schema):
    since = fields.String(load_default="1h", validate=validate.OneOf(sorted(RANGES)))
    q = fields.String(validate=validate.Length(1, 200),
                      metadata={"description": "Keep lines containing this text (literal)."})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, MAX_LOG_LINES))


class LogLine(ma.Schema):
    timestamp = fields.DateTime()
    source = fields.String()
    line = fields.String()


class LogsOut(ma.Schema):
    data = fields.List(fields.Nested(LogLine))
    meta = fields.Nested(SourceMeta)


class Alert(ma.Schema):
    fingerprint = fields.String()
    name = fields.String()
    site_id = fields.String()
    severity = fields.String(allow_none=True)
    state = fields.String()
    summary = fields.String(allow_none=True)
    starts_at = fields.String()
    labels = fields.Dict(keys=fields.String(), values=fields.String())


class AlertsOut(ma.Schema):
    data = fields.List(fields.Nested(Alert))
    meta = fields.Nested(SourceMeta)


class Silence(ma.Schema):
    id = fields.String()
    site_id = fields.String()
    alertname = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    starts_at = fields.String(allow_none=True)
    ends_at = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


class SilencesOut(ma.Schema):
    data = fields.List(fields.Nested(Silence))
    meta = fields.Nested(SourceMeta)


class SilenceIn(StrictSchema):
    minutes = fields.Integer(required=True, validate=validate.Range(1, 60 * 24 * 30))
    comment = fields.String(required=True, validate=validate.Length(1, 500))
    alertname = fields.String(validate=validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"))


class SilenceEnvelope(ma.Schema):
    data = fields.Nested(Silence)


class ComponentHealth(ma.Schema):
    component = fields.String()
    status = fields.String(validate=validate.OneOf(["ok", "down"]))
    kind = fields.String()
    breaker = fields.String(validate=validate.OneOf(["closed", "half-open", "open", "unknown"]))
    latency_ms = fields.Float()
    version = fields.String(allow_none=True)


class ObservabilityHealthOut(ma.Schema):
    status = fields.String(validate=validate.OneOf(["ok", "degraded", "none"]))
    components = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentHealth))
