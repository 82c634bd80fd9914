"""Gunicorn server hooks for multiprocess metrics; import them into the gunicorn config.

    # gunicorn.conf.py (deploy), with PROMETHEUS_MULTIPROC_DIR set in the service's environment
    from chom.observability.gunicorn_hooks import child_exit, on_starting  # noqa: F401

`on_starting` (in the master, before any worker) empties the directory, so counters of a previous
run are not summed into this one; `child_exit` tells prometheus_client a worker is gone, so its
live gauges stop counting. The web app itself picks multiprocess mode from the variable alone.
"""

from __future__ import annotations

import os
from pathlib import Path


def _directory() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
    return Path(value) if value else None


def on_starting(server) -> None:
    directory = _directory()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    if _directory() is None:
        return
    from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics

    GunicornPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
