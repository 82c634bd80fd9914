"""Degradation: answer from the last good value when a backend is down, and say so.

Every good answer is kept (per query key) in a cache shared by all processes — Redis in rq
mode, this process's memory in the embedded default — for `CHOM_DEGRADED_CACHE_SECONDS`. When
the backend then fails (its breaker open, or an error), the kept value is answered with
`degraded=True` and its age; with nothing kept, the error is raised for the caller to report.
A failing cache never fails a good answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachelib import BaseCache, RedisCache, SimpleCache
from flask import current_app

from chom.plugin_api import BackendError
from chom.reliability.breakers import shared_redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    value: Any
    degraded: bool = False
    #: seconds since the value was fetched (degraded answers only)
    age_seconds: float | None = None
    #: why the backend could not answer (degraded answers only)
    reason: str | None = None

    def meta(self) -> dict:
        """What the API says about where the value comes from."""
        if not self.degraded:
            return {"degraded": False}
        return {"degraded": True, "age_seconds": round(self.age_seconds or 0.0, 1),
                "reason": self.reason}


def cache_key(*parts: Any) -> str:
    """A short, stable key for a query made of these parts."""
    digest = hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()
    return f"{parts[0]}:{digest[:32]}"


def _cache() -> BaseCache:
    app = current_app._get_current_object()
    cache = app.extensions.get("chom_degraded_cache")
    if cache is None:
        redis = shared_redis(app)
        cache = (RedisCache(host=redis, key_prefix="chom:degraded:") if redis is not None
                 else SimpleCache(threshold=10_000))
        app.extensions["chom_degraded_cache"] = cache
    return cache


def with_fallback(key: str, fetch: Callable[[], Any]) -> Answer:
    """`fetch()`'s value, kept under `key`; on `BackendError`, the value last kept (degraded),
    else the error itself."""
    cache = _cache()
    try:
        value = fetch()
    except BackendError as error:
        try:
            kept = cache.get(key)
        except Exception:  # a cache that is down too: nothing to fall back on
            log.warning("degraded cache unreadable for %s", key, exc_info=True)
            kept = None
        if kept is None:
            raise
        stored_at, value = kept
        return Answer(value, degraded=True, age_seconds=max(0.0, time.time() - stored_at),
                      reason=str(error))
    try:
        cache.set(key, (time.time(), value),
                  timeout=int(current_app.config.get("CHOM_DEGRADED_CACHE_SECONDS", 86400)))
    except Exception:
        log.warning("degraded cache not written for %s", key, exc_info=True)
    return Answer(value)
