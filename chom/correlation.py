"""X-Correlation-ID: taken from the request when well-formed, else new; on every response."""

from __future__ import annotations

import re
import uuid

from flask import g, request

from chom import tracing
from chom.log_context import correlation_id

HEADER = "X-Correlation-ID"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _take():
    sent = request.headers.get(HEADER, "")
    g.correlation_id = sent if _WELL_FORMED.match(sent) else uuid.uuid4().hex
    correlation_id.set(g.correlation_id)  # for the request's log lines
    tracing.set_attributes(correlation_id=g.correlation_id)


def _forget(_exc=None):
    correlation_id.set(None)


def _give(response):
    response.headers[HEADER] = g.get("correlation_id") or uuid.uuid4().hex
    return response


def init_app(app) -> None:
    app.before_request(_take)
    app.after_request(_give)
    app.teardown_request(_forget)
