"""The VPS fleet, for platform operators (a flag on the user, not an organization role)."""

from flask_smorest import Blueprint

from chom.api import schemas_fleet as s
from chom.api import schemas_observability as obs
from chom.api.auth import current_actor
from chom.api.limits import api_limit
from chom.services import fleet, observability

blp = Blueprint("fleet", __name__, url_prefix="/api/v1",
                description="The VPS fleet: capacity and load (platform operators only)")


@blp.route("/fleet", methods=["GET"])
@api_limit
@blp.response(200, s.FleetOut)
def fleet_list():
    """Every VPS with its capacity and the live sites placed on it."""
    return {"data": [s.fleet_row(usage) for usage in fleet.fleet_usage(current_actor().user)]}


@blp.route("/fleet", methods=["POST"])
@api_limit
@blp.arguments(s.FleetVpsIn)
@blp.response(201, s.FleetVpsEnvelope)
def fleet_add(body):
    """Add an SSH VPS: its host key is pinned (the one given, or the one it presents now), the
    stack is checked over that connection, and nothing is saved when either fails (409)."""
    private_key = body.pop("private_key")
    usage = fleet.operator_register_vps(current_actor().user, private_key_pem=private_key, **body)
    return {"data": s.fleet_row(usage)}


@blp.route("/fleet/<vps_id>/check", methods=["POST"])
@api_limit
@blp.response(200, s.StackCheckEnvelope)
def fleet_check(vps_id):
    """Check the VPS's stack again (nginx, a database, PHP-FPM, bash 4.4+) and record what it
    holds; `missing` names what it lacks. 409 when it cannot be reached."""
    check = fleet.operator_check_vps(current_actor().user, vps_id)
    return {"data": {"vps": s.fleet_row(fleet.usage_of(check.vps)), "stack": check.found,
                     "missing": check.missing}}


@blp.route("/fleet/<vps_id>/metrics", methods=["GET"])
@api_limit
@blp.arguments(obs.MetricsArgs, location="query")
@blp.response(200, obs.VpsMetricsOut)
def vps_metrics(args, vps_id):
    """The VPS's CPU, memory and disk use over `range`; while Prometheus is down, its last
    answer with `meta.degraded` and `meta.age_seconds`."""
    answer = observability.operator_vps_metrics(current_actor().user, vps_id, args["range"])
    return {"data": answer.value, "meta": answer.meta()}
