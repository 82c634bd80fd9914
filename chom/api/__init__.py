"""The JSON API (/api/v1): flask-smorest blueprints, problem+json errors, OpenAPI 3.1."""

from __future__ import annotations

from flask import current_app, request
from flask_cors import CORS
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from chom.api import (
    problems,
    views_account,
    views_auth,
    views_backups,
    views_billing,
    views_fleet,
    views_health,
    views_notifications,
    views_observability,
    views_sites,
    views_team,
    views_webhooks,
)
from chom.api.auth import authenticate_first
from chom.api.schemas import Problem
from chom.api.sessions import ConsoleOnlySessions
from chom.services.errors import ChomError

BLUEPRINTS = (views_auth.blp, views_sites.blp, views_backups.blp, views_account.blp,
              views_health.blp, views_notifications.blp, views_team.blp, views_billing.blp,
              views_webhooks.blp, views_observability.blp, views_fleet.blp)


API_BLUEPRINT_NAMES = frozenset(blueprint.name for blueprint in BLUEPRINTS)


class ChomApi(Api):
    """flask-smorest's Api, answering errors as RFC 9457 problem+json, and documenting them so."""

    ERROR_SCHEMA = Problem

    def handle_http_exception(self, error: HTTPException):
        return problems.from_http_exception(error)

    def _register_responses(self):
        # flask-smorest documents its error responses with the content type of its answers.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = problems.PROBLEM_CONTENT_TYPE
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


def _authenticate_api_requests():
    if request.blueprint in API_BLUEPRINT_NAMES and request.method != "OPTIONS":
        authenticate_first(current_app.view_functions[request.endpoint])


def init_app(app) -> None:
    api = ChomApi(
        app,
        spec_kwargs={
            "info": {"description": "Multi-tenant hosting control plane."},
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "API token"}
    )
    api.spec.components.security_scheme(
        "alertmanagerToken",
        {"type": "http", "scheme": "bearer",
         "description": "`CHOM_ALERTMANAGER_WEBHOOK_TOKEN`, for Alertmanager's webhook"},
    )
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_error_handler(ChomError, problems.from_service_error)
    app.register_error_handler(Exception, problems.internal_error)
    app.extensions["chom_api"] = api
    app.before_request(_authenticate_api_requests)
    app.session_interface = ConsoleOnlySessions()
    init_cors(app)


def init_cors(app) -> None:
    """CORS on the API for the origins in `CHOM_CORS_ORIGINS` only (none by default). Bearer
    tokens, not cookies, authenticate the API: credentials are never allowed cross-origin."""
    origins = app.config.get("CHOM_CORS_ORIGINS") or []
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}}, supports_credentials=False,
             allow_headers=["Authorization", "Content-Type", "X-Tenant-ID", "X-Correlation-ID"],
             expose_headers=["X-Correlation-ID", "Retry-After", "Location"], max_age=600)
