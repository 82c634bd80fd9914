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
    """On a server database, a pool as large as a worker's threads (gunicorn runs 8) with room
    to burst. Connections are checked at checkout by `reliability.database.check_on_checkout`
    (a restarted database costs no failed request), not by SQLAlchemy's pre-ping."""
    options: dict = {}
    if not database_url.startswith("sqlite"):
        options["pool_size"] = int(os.environ.get("CHOM_DB_POOL_SIZE", "10"))
        options["max_overflow"] = int(os.environ.get("CHOM_DB_MAX_OVERFLOW", "20"))
        # A server that does not answer at all fails the attempt instead of hanging it.
        options["connect_args"] = {"connect_timeout": int(
            os.environ.get("CHOM_DB_CONNECT_TIMEOUT", "5"))}
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
    base_url = env("CHOM_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
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
        # A notification that was not taken is sent again after these many seconds.
        "CHOM_NOTIFY_RETRY_INTERVALS": [
            int(x) for x in env("CHOM_NOTIFY_RETRY_INTERVALS", "10,60,300,1800,7200").split(",")
            if x.strip()
        ],
        # Webhook URLs may point at loopback/private addresses (development, tests) only when on.
        "CHOM_WEBHOOK_ALLOW_PRIVATE": env("CHOM_WEBHOOK_ALLOW_PRIVATE", "0").lower()
        in ("1", "true", "yes"),
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
        # Redis down: limits keep applying per process, from memory, until it is back.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
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
        # Observability backends; each unset one is simply not used (its endpoints answer 503).
        "PROMETHEUS_URL": env("PROMETHEUS_URL"),
        "GRAFANA_URL": env("GRAFANA_URL"),
        # A Grafana service account token (Admin: it creates folders, teams and permissions).
        "GRAFANA_TOKEN": env("GRAFANA_TOKEN"),
        "LOKI_URL": env("LOKI_URL"),
        "ALERTMANAGER_URL": env("ALERTMANAGER_URL"),
        "CHOM_BACKEND_TIMEOUT_SECONDS": float(env("CHOM_BACKEND_TIMEOUT_SECONDS", "5")),
        # Tries per backend query while it fails transiently (backoff with full jitter).
        "CHOM_BACKEND_RETRY_ATTEMPTS": int(env("CHOM_BACKEND_RETRY_ATTEMPTS", "3")),
        "CHOM_BACKEND_RETRY_BASE_SECONDS": float(env("CHOM_BACKEND_RETRY_BASE_SECONDS", "0.2")),
        # A backend's breaker opens after this many failed calls and lets one through again
        # after this many seconds (DESIGN.md: Prometheus, Grafana, Loki 3 failures, 30 s).
        # The database's breaker (DESIGN.md: 5 failures, 60 s) on new connections.
        "CHOM_BREAKER_DB_FAIL_MAX": int(env("CHOM_BREAKER_DB_FAIL_MAX", "5")),
        "CHOM_BREAKER_DB_RESET_SECONDS": float(env("CHOM_BREAKER_DB_RESET_SECONDS", "60")),
        "CHOM_BREAKER_BACKEND_FAIL_MAX": int(env("CHOM_BREAKER_BACKEND_FAIL_MAX", "3")),
        "CHOM_BREAKER_BACKEND_RESET_SECONDS": float(
            env("CHOM_BREAKER_BACKEND_RESET_SECONDS", "30")),
        # How long a backend's last good answer is kept to answer (degraded) while it is down.
        "CHOM_DEGRADED_CACHE_SECONDS": int(env("CHOM_DEGRADED_CACHE_SECONDS", "86400")),
        # Jaeger's UI: the console links an operation to its trace there.
        "JAEGER_UI_URL": env("JAEGER_UI_URL"),
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
        # Outgoing mail (invitations, password resets). No MAIL_SERVER: messages are written
        # as .eml files under MAIL_OUTBOX_DIR instead of being sent.
        "MAIL_SERVER": env("MAIL_SERVER"),
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_USE_TLS": env("MAIL_USE_TLS", "0").lower() in ("1", "true", "yes"),
        "MAIL_USE_SSL": env("MAIL_USE_SSL", "0").lower() in ("1", "true", "yes"),
        "MAIL_USERNAME": env("MAIL_USERNAME"),
        "MAIL_PASSWORD": env("MAIL_PASSWORD"),
        "MAIL_FROM": env("MAIL_FROM", "CHOM <noreply@localhost>"),
        "MAIL_OUTBOX_DIR": env("MAIL_OUTBOX_DIR", str(instance_path / "mail")),
        "MAIL_CA_FILE": env("MAIL_CA_FILE"),
        # Where links in emails point (never taken from a request's Host header).
        "CHOM_BASE_URL": base_url,
        # Invitations and password-reset links stay valid this long.
        "CHOM_INVITATION_TTL_HOURS": int(env("CHOM_INVITATION_TTL_HOURS", "72")),
        "CHOM_PASSWORD_RESET_TTL_MINUTES": int(env("CHOM_PASSWORD_RESET_TTL_MINUTES", "60")),
        # Browser origins allowed to call the API with CORS (comma-separated); none by default.
        "CHOM_CORS_ORIGINS": [o.strip() for o in env("CHOM_CORS_ORIGINS", "").split(",")
                              if o.strip()],
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
        # Where the stripe library sends API calls (tests point it at a local fake).
        "STRIPE_API_BASE": env("STRIPE_API_BASE", "https://api.stripe.com"),
        # A webhook whose signature timestamp is older than this many seconds is refused.
        "STRIPE_WEBHOOK_TOLERANCE": int(env("STRIPE_WEBHOOK_TOLERANCE", "300")),
        # The Stripe price id of each plan in `CHOM_PLANS`.
        "CHOM_STRIPE_PRICES": {
            plan: env(f"CHOM_STRIPE_PRICE_{plan.upper()}", f"price_chom_{plan}")
            for plan in PLANS
        },
        # A tenant whose payment is past due keeps its sites this many days, with a warning.
        "CHOM_BILLING_GRACE_DAYS": int(env("CHOM_BILLING_GRACE_DAYS", "7")),
        # Alertmanager's webhook (POST /api/v1/webhooks/alertmanager) must present this bearer
        # token; unset, the endpoint refuses every call.
        "CHOM_ALERTMANAGER_WEBHOOK_TOKEN": env("CHOM_ALERTMANAGER_WEBHOOK_TOKEN") or None,
        # Where Stripe's checkout and portal pages send the customer back: the console's
        # billing page, which tells them how it went.
        "CHOM_BILLING_RETURN_URL": env("CHOM_BILLING_RETURN_URL", f"{base_url}/billing"),
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
