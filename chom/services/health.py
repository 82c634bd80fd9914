"""System health: real checks of the database, Redis and the job queue."""

from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy import text

from chom.extensions import db
from chom.integration.queue import current_queue, redis_answers

log = logging.getLogger(__name__)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as error:  # a failed check is a finding, not a crash
        # The endpoint is public: the driver's message (hosts, ports) goes to the log only.
        log.warning("health check %s failed: %s", check.__name__, error)
        result = {"status": "down", "error": type(error).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database() -> dict:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


def _redis() -> dict:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"status": "ok", "configured": False}
    return {"status": "ok" if redis_answers(url) else "down", "configured": True}


def _queue() -> dict:
    queue = current_queue()
    depth = queue.depth()
    threshold = current_app.config["CHOM_HEALTH_QUEUE_DEGRADED_AT"]
    return {
        "status": "degraded" if depth >= threshold else "ok",
        "mode": queue.mode,
        "depth": depth,
        "failed": queue.failed_count(),
    }


# The worst a failing check can make the whole: without its database CHOM is down.
CHECKS = {
    "database": (_database, "down"),
    "redis": (_redis, "degraded"),
    "queue": (_queue, "degraded"),
}
SEVERITY = ("ok", "degraded", "down")


def check_health() -> dict:
    """`{"status": "ok"|"degraded"|"down", "checks": {name: {...}}}`."""
    checks = {name: _timed(check) for name, (check, _) in CHECKS.items()}
    status = "ok"
    for name, (_, ceiling) in CHECKS.items():
        found = checks[name]["status"]
        effect = min(found, ceiling, key=SEVERITY.index)
        status = max(status, effect, key=SEVERITY.index)
    if checks["database"]["status"] != "ok":
        db.session.rollback()
    return {"status": status, "checks": checks}
