"""/webhooks: what other systems call — Stripe (signed events) and Alertmanager (bearer token).

No console session and no CSRF (no cookie), and no per-client rate limit: the callers retry
and burst from a few addresses. Each proves itself in its own way, and each event is handled
once.
"""

from flask import request
from flask_smorest import Blueprint

from chom.api import schemas_billing as b
from chom.api import schemas_webhooks as w
from chom.api.auth import without_api_token
from chom.services import alert_intake, billing_webhooks

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Incoming webhooks")


@blp.route("/stripe", methods=["POST"])
@without_api_token(blp)  # proved by its signature
@blp.response(200, b.WebhookAnswer)
def stripe_webhook():
    """Stripe events, proved by their `Stripe-Signature` (400 otherwise); each event id is
    handled once, its work done by a job."""
    outcome = billing_webhooks.receive_event(request.get_data(),
                                             request.headers.get("Stripe-Signature"))
    return {"received": True, "outcome": outcome}


def _alertmanager_token():
    header = request.headers.get("Authorization", "")
    alert_intake.check_token(header.removeprefix("Bearer ").strip() or None)


@blp.route("/alertmanager", methods=["POST"])
@without_api_token(blp, security=[{"alertmanagerToken": []}], proof=_alertmanager_token)
@blp.arguments(w.AlertmanagerPayload)
@blp.response(200, w.AlertmanagerAnswer)
def alertmanager_webhook(payload):
    """Alertmanager's webhook receiver (bearer `CHOM_ALERTMANAGER_WEBHOOK_TOKEN`): a site that
    stopped answering is announced to its organization's channels, once per firing."""
    return {"received": True, "announced": alert_intake.receive(payload["alerts"])}
