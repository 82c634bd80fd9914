"""gunicorn settings for chom-web.service."""

import multiprocessing

from chom.observability.gunicorn_hooks import child_exit, on_starting  # noqa: F401

bind = "127.0.0.1:8000"
workers = min(2 * multiprocessing.cpu_count() + 1, 9)
threads = 8
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# nginx in front; it alone sets X-Forwarded-For (see CHOM_TRUSTED_PROXIES for the scrape check).
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
errorlog = "-"
