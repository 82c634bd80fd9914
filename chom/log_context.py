"""Structured logs that carry the correlation id of the request or job they come from.

`correlation_id` is set by the request (`chom.correlation`) and by each job (from its
Operation), so a provisioning run's log lines can be found from the API response's
`X-Correlation-ID`. Lines are JSON (python-json-logger) unless `CHOM_LOG_FORMAT=text`.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

correlation_id: ContextVar[str | None] = ContextVar("chom_correlation_id", default=None)

_HANDLER_NAME = "chom"


class CorrelationFilter(logging.Filter):
    """Stamps every record with the correlation id current in its context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """One handler on the root logger (installed once per process, whatever the app count)."""
    root = logging.getLogger()
    if any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(CorrelationFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        ))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
