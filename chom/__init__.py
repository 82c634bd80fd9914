"""CHOM: a multi-tenant control plane for sites on a VPS fleet."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The console loads only its own scripts and styles; no page may be framed.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, plugins, queue, API, console and CLI."""
    from flask_talisman import Talisman

    from chom import config, correlation, rate_limits, request_scope, text_input, tracing
    from chom.api import BLUEPRINTS as API_BLUEPRINTS
    from chom.api import init_app as init_api
    from chom.cli import init_app as init_cli
    from chom.extensions import csrf, db, limiter, login_manager, migrate
    from chom.integration.queue import build_queue
    from chom.integration.secrets import SecretBox
    from chom.log_context import configure_logging
    from chom.models.transactions import begin_at_first_write
    from chom.observability import init_app as init_observability
    from chom.plugins import build_plugin_manager, observability_backends, site_types, transports
    from chom.reliability.breakers import database_breaker
    from chom.reliability.database import check_on_checkout, guard_connections
    from chom.web import init_app as init_web

    # Tests and side-by-side installs keep their generated secrets in a folder of their own.
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "CHOM_INSTANCE_PATH"
    )
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(config.from_environment(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    configure_logging(app.config["CHOM_LOG_FORMAT"], app.config["CHOM_LOG_LEVEL"])
    # First: the request's span must start before any other hook, engines after SQLAlchemy's
    # instrumentation (OTEL_* variables; off when OTEL_EXPORTER_OTLP_ENDPOINT is unset).
    tracing.init_app(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    # Request metrics before any hook that may refuse a request (rate limit, authentication,
    # bad input): Flask runs before-request hooks in order, and a request whose start was never
    # recorded is not counted.
    init_observability(app)
    login_manager.init_app(app)
    rate_limits.init_app(app, limiter)
    csrf.init_app(app)
    # One per app: Talisman keeps its settings on the instance, not per app.
    app.extensions["chom_talisman"] = Talisman(
        app,
        force_https=app.config["CHOM_FORCE_HTTPS"],
        session_cookie_secure=app.config["CHOM_FORCE_HTTPS"],
        strict_transport_security=True,  # sent only over HTTPS
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        content_security_policy=CONTENT_SECURITY_POLICY,
    )

    plugin_manager = build_plugin_manager(
        load_entry_points=app.config.get("CHOM_LOAD_PLUGINS", True)
    )
    app.extensions["chom_plugins"] = plugin_manager
    app.extensions["chom_site_types"] = site_types(plugin_manager)
    app.extensions["chom_transports"] = transports(plugin_manager)
    app.extensions["chom_observability"] = observability_backends(plugin_manager, app.config)
    app.extensions["chom_secrets"] = SecretBox.from_config(app.config, Path(app.instance_path))
    app.extensions["chom_queue"] = build_queue(app)
    with app.app_context():
        guard_connections(db.engine, database_breaker(app))
        check_on_checkout(db.engine)
        begin_at_first_write(db.engine)

    request_scope.init_app(app)
    correlation.init_app(app)
    text_input.init_app(app)
    init_api(app)
    for blueprint in API_BLUEPRINTS:
        csrf.exempt(blueprint)  # bearer tokens, not cookies: no CSRF to defend against
    init_web(app)
    init_cli(app)
    return app
