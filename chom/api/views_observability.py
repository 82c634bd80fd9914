"""Metrics, logs and alerts of the current tenant's sites; the observability stack's health."""

from flask_smorest import Blueprint

from chom.api import schemas_observability as s
from chom.api.auth import current_actor, without_api_token
from chom.api.limits import api_limit
from chom.extensions import limiter
from chom.services import alerts
from chom.services import observability as service

blp = Blueprint("observability", __name__, url_prefix="/api/v1",
                description="Metrics, logs, alerts and the observability stack's health")


def _answer(answer, data=None) -> dict:
    return {"data": answer.value if data is None else data, "meta": answer.meta()}


@blp.route("/sites/<site_id>/metrics", methods=["GET"])
@api_limit
@blp.arguments(s.MetricsArgs, location="query")
@blp.response(200, s.SiteMetricsOut)
def site_metrics(args, site_id):
    """The site's requests and errors per second and p95 latency over `range`; while
    Prometheus is down, its last answer with `meta.degraded` and `meta.age_seconds`."""
    return _answer(service.site_metrics(current_actor(), site_id, args["range"]))


@blp.route("/sites/<site_id>/logs", methods=["GET"])
@api_limit
@blp.arguments(s.LogsArgs, location="query")
@blp.response(200, s.LogsOut)
def site_logs(args, site_id):
    """The site's nginx and PHP log lines of the last `since`, newest first; `q` keeps lines
    containing that text."""
    return _answer(service.site_logs(current_actor(), site_id, args["since"], args.get("q"),
                                     args["limit"]))


@blp.route("/alerts", methods=["GET"])
@api_limit
@blp.response(200, s.AlertsOut)
def tenant_alerts():
    """Active alerts of the current tenant's sites."""
    return _answer(alerts.tenant_alerts(current_actor()))


@blp.route("/sites/<site_id>/alerts", methods=["GET"])
@api_limit
@blp.response(200, s.AlertsOut)
def site_alerts(site_id):
    """Active alerts of one site."""
    return _answer(alerts.site_alerts(current_actor(), site_id))


@blp.route("/sites/<site_id>/silences", methods=["GET"])
@api_limit
@blp.response(200, s.SilencesOut)
def site_silences(site_id):
    """The site's active and pending silences."""
    return _answer(alerts.site_silences(current_actor(), site_id))


@blp.route("/sites/<site_id>/silences", methods=["POST"])
@api_limit
@blp.arguments(s.SilenceIn)
@blp.response(201, s.SilenceEnvelope)
def create_silence(body, site_id):
    """Silence the site's alerts (or one `alertname`) for `minutes`."""
    return {"data": alerts.create_silence(current_actor(), site_id, **body)}


@blp.route("/sites/<site_id>/silences/<silence_id>", methods=["DELETE"])
@api_limit
@blp.response(204)
def expire_silence(site_id, silence_id):
    """End one of the site's silences now."""
    alerts.expire_silence(current_actor(), site_id, silence_id)


@blp.route("/observability/health", methods=["GET"])
@without_api_token(blp)
@limiter.exempt
@blp.response(200, s.ObservabilityHealthOut)
def observability_health():
    """Each configured backend: `ok` or `down`, and its circuit breaker's state."""
    return service.observability_health()


@blp.route("/observability/health/<component>", methods=["GET"])
@without_api_token(blp)
@limiter.exempt
@blp.response(200, s.ComponentHealth)
def component_health(component):
    """One backend (`prometheus`, `loki`, `grafana`, `alertmanager`); 404 when not configured."""
    return service.observability_health(component)
