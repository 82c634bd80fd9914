"""/health: is CHOM working."""

from flask_smorest import Blueprint

from chom.api import schemas as s
from chom.api.auth import without_api_token
from chom.extensions import limiter
from chom.services.health import check_health

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Health")


@blp.route("/health", methods=["GET"])
@without_api_token(blp)
@limiter.exempt
@blp.response(200, s.HealthOut)
@blp.alt_response(503, schema=s.HealthOut, description="down")
def health():
    """Database, Redis and queue checks: `ok`, `degraded` (200) or `down` (503)."""
    report = check_health()
    return report, 503 if report["status"] == "down" else 200
