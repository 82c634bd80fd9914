"""Log lines carry the correlation id of the request (or job) they come from."""

import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from chom import create_app
from chom.log_context import CorrelationFilter, correlation_id
from tests.conftest import base_config


def test_json_lines_hold_the_correlation_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(correlation_id)s"))
    logger = logging.getLogger("chom.test.json")
    logger.addHandler(handler)
    token = correlation_id.set("corr-42")
    try:
        logger.warning("provisioning %s", "shop.example.com")
    finally:
        correlation_id.reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "provisioning shop.example.com"
    assert line["correlation_id"] == "corr-42" and line["levelname"] == "WARNING"


def test_a_requests_log_lines_name_its_correlation_id(tmp_path):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    keep = Keep()
    keep.addFilter(CorrelationFilter())
    logging.getLogger("chom").addHandler(keep)
    try:
        app = create_app(base_config(tmp_path,
                                     SQLALCHEMY_DATABASE_URI="postgresql://postgres@127.0.0.1:1/x"))
        response = app.test_client().get("/api/v1/health",
                                         headers={"X-Correlation-ID": "trace-me-7"})
    finally:
        logging.getLogger("chom").removeHandler(keep)
    assert response.status_code == 503
    failed = [r for r in records if "health check" in r.getMessage()]
    assert failed and all(r.correlation_id == "trace-me-7" for r in failed)
    assert correlation_id.get() is None  # nothing leaks past the request
