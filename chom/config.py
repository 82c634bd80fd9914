"""Settings, read from the environment (a `.env` file is honoured) in one place.

Every default lets `make run` work on a bare machine: SQLite under `instance/`, jobs in-process
when no Redis answers, and the `local` transport. Nothing secret is committed: a missing
`SECRET_KEY` or `CHOM_ENCRYPTION_KEYS` gets a per-instance value generated into `instance/`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import load_dotenv

PLANS = {
    # name: monthly price in cents, site limit (None = unlimited), storage in GB, dedicated VPS
    "starter": {"price_cents": 2900, "max_sites": 5, "storage_gb": 10, "dedicated_vps": False},
    "pro": {"price_cents": 7900, "max_sites": 25, "storage_gb": 100, "dedicated_vps": False},
    "enterprise": {
        "price_cents": 24900,
        "max_sites": None,
        "storage_gb": None,
        "dedicated_vps": True,
    },
}

PHP_VERSIONS = ("8.2", "8.3", "8.4")


def _instance_secret(instance_path: Path, name: str, make) -> str:
    """Read a generated secret from the instance folder, creating it on first use."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def _engine_options(database_url: str) -> dict:
    """Pre-ping (a restarted database costs no failed request); on a server database, a pool
    as large as a worker's threads (gunicorn runs 8) with room to burst."""
    options: dict = {"pool_pre_ping": True}
    if not database_url.startswith("sqlite"):
        options["pool_size"] = int(os.environ.get("CHOM_DB_POOL_SIZE", "10"))
        options["max_overflow"] = int(os.environ.get("CHOM_DB_MAX_OVERFLOW", "20"))
    return options


def _retention(value: str) -> dict[str, int]:
    """`"starter=7,pro=30"` → `{"starter": 7, "pro": 30}` (retention, schedule intervals)."""
    pairs = (item.split("=", 1) for item in value.split(",") if item.strip())
    return {name.strip(): int(count) for name, count in pairs}


def from_environment(instance_path: Path) -> dict:
    """Build the Flask config mapping from the process environment."""
    load_dotenv(override=False)
    env = os.environ.get
    database_url = env("DATABASE_URL") or f"sqlite:///{instance_path / 'chom.sqlite3'}"
    redis_url = env("REDIS_URL") or None
    return {
        "SECRET_KEY": env("SECRET_KEY")
        or _instance_secret(instance_path, "secret_key", lambda: secrets.token_hex(32)),
        "CHOM_ENCRYPTION_KEYS": env("CHOM_ENCRYPTION_KEYS", ""),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "REDIS_URL": redis_url,
        # "auto": RQ when REDIS_URL answers, else a thread in this process.
        "CHOM_JOB_MODE": env("CHOM_JOB_MODE", "auto"),
        "CHOM_QUEUE_NAME": env("CHOM_QUEUE_NAME", "chom"),
        # Log lines as JSON (with the correlation id) or as text.
        "CHOM_LOG_FORMAT": env("CHOM_LOG_FORMAT", "json"),
        "CHOM_LOG_LEVEL": env("CHOM_LOG_LEVEL", "INFO"),
        # Transient job failures (a VPS unreachable) are retried after these many seconds.
        "CHOM_JOB_RETRY_INTERVALS": [
            int(x) for x in env("CHOM_JOB_RETRY_INTERVALS", "5,30,120").split(",") if x.strip()
        ],
        # A job's lock on its VPS lives this long without renewal: how soon a killed job's
        # operations can be resumed by `flask chom reconcile`.
        "CHOM_SITE_LOCK_TTL": int(env("CHOM_SITE_LOCK_TTL", "60")),
        # How many ready operations for one VPS are applied in one remote invocation.
        "CHOM_BATCH_SIZE": int(env("CHOM_BATCH_SIZE", "50")),
        # A VPS's circuit breaker opens after this many connection failures in a row and lets
        # one call through again after this many seconds (DESIGN.md: 3 failures, 60 s).
        "CHOM_BREAKER_VPS_FAIL_MAX": int(env("CHOM_BREAKER_VPS_FAIL_MAX", "3")),
        "CHOM_BREAKER_VPS_RESET_SECONDS": float(env("CHOM_BREAKER_VPS_RESET_SECONDS", "60")),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "CHOM_RATE_LIMIT_AUTH": env("CHOM_RATE_LIMIT_AUTH", "5/minute"),
        "CHOM_RATE_LIMIT_API": env("CHOM_RATE_LIMIT_API", "60/minute"),
        "CHOM_RATE_LIMIT_SENSITIVE": env("CHOM_RATE_LIMIT_SENSITIVE", "2/minute"),
        # Log-in attempts naming one account, from any address.
        "CHOM_RATE_LIMIT_LOGIN_ACCOUNT": env("CHOM_RATE_LIMIT_LOGIN_ACCOUNT", "10/minute"),
        "CHOM_TRIAL_DAYS": int(env("CHOM_TRIAL_DAYS", "14")),
        "CHOM_PLANS": PLANS,
        "CHOM_PHP_VERSIONS": PHP_VERSIONS,
        "CHOM_DEFAULT_PHP_VERSION": env("CHOM_DEFAULT_PHP_VERSION", "8.2"),
        "CHOM_LOCAL_VPS_ROOT": env("CHOM_LOCAL_VPS_ROOT", str(instance_path / "local-vps")),
        "CHOM_SSH_KEY_PATH": env("CHOM_SSH_KEY_PATH"),
        "CHOM_HEALTH_QUEUE_DEGRADED_AT": int(env("CHOM_HEALTH_QUEUE_DEGRADED_AT", "1000")),
        "PROMETHEUS_URL": env("PROMETHEUS_URL"),
        "GRAFANA_URL": env("GRAFANA_URL"),
        "LOKI_URL": env("LOKI_URL"),
        "ALERTMANAGER_URL": env("ALERTMANAGER_URL"),
        "METRICS_IP_WHITELIST": env("METRICS_IP_WHITELIST", "127.0.0.1,::1"),
        "METRICS_NAMESPACE": env("METRICS_NAMESPACE", "chom"),
        # Reverse proxies (IPs/CIDRs) whose X-Forwarded-For the metrics scrape check believes.
        "CHOM_TRUSTED_PROXIES": env("CHOM_TRUSTED_PROXIES", ""),
        # ACME (Let's Encrypt by default; pebble in tests).
        "ACME_DIRECTORY_URL": env(
            "ACME_DIRECTORY_URL", "https://acme-v02.api.letsencrypt.org/directory"
        ),
        "ACME_CA_BUNDLE": env("ACME_CA_BUNDLE"),
        "ACME_CONTACT_EMAIL": env("ACME_CONTACT_EMAIL"),
        # Backups: S3-compatible storage when S3_BUCKET is set, else a directory.
        "S3_BUCKET": env("S3_BUCKET"),
        "S3_ENDPOINT_URL": env("S3_ENDPOINT_URL"),
        "S3_REGION": env("S3_REGION", "us-east-1"),
        "S3_ACCESS_KEY_ID": env("S3_ACCESS_KEY_ID"),
        "S3_SECRET_ACCESS_KEY": env("S3_SECRET_ACCESS_KEY"),
        "S3_SERVER_SIDE_ENCRYPTION": env("S3_SERVER_SIDE_ENCRYPTION", "AES256"),
        "CHOM_BACKUP_DIR": env("CHOM_BACKUP_DIR", str(instance_path / "backups")),
        # How long a backup's download link works.
        "CHOM_BACKUP_URL_TTL": int(env("CHOM_BACKUP_URL_TTL", "900")),
        # Backups kept per site, by plan (the newest; older ones are pruned).
        "CHOM_BACKUP_RETENTION": _retention(env("CHOM_BACKUP_RETENTION",
                                                "starter=7,pro=30,enterprise=90")),
        # The scheduler: how often it looks for due work, and its leader lock's lifetime.
        "CHOM_SCHEDULER_TICK_SECONDS": float(env("CHOM_SCHEDULER_TICK_SECONDS", "30")),
        "CHOM_SCHEDULER_LOCK_TTL": int(env("CHOM_SCHEDULER_LOCK_TTL", "60")),
        # Seconds between runs of recurring jobs, by name (`reconcile=60,...`); unset: defaults.
        "CHOM_SCHEDULE_INTERVALS": _retention(env("CHOM_SCHEDULE_INTERVALS", "")),
        "STRIPE_SECRET_KEY": env("STRIPE_SECRET_KEY"),
        "STRIPE_WEBHOOK_SECRET": env("STRIPE_WEBHOOK_SECRET"),
        # flask-smorest: the OpenAPI document, generated from the request schemas.
        "API_TITLE": "CHOM API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        # Requests larger than this are refused with 413 (uploads of site content included).
        "MAX_CONTENT_LENGTH": int(env("CHOM_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024))),
        # Behind TLS in production: redirect to HTTPS, HSTS, secure cookies.
        "CHOM_FORCE_HTTPS": env("CHOM_FORCE_HTTPS", "0").lower() in ("1", "true", "yes"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }
