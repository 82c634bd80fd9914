"""RFC 9457 problem+json: the one place errors become responses."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from chom.services import errors, outages

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://chom.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# Each service error, the status it answers and its problem type slug.
SERVICE_ERRORS: dict[type[errors.ChomError], tuple[int, str]] = {
    errors.TwoFactorRequired: (401, "two-factor-required"),
    errors.ValidationFailed: (422, "validation-failed"),
    errors.NotAuthenticated: (401, "not-authenticated"),
    errors.TwoFactorSetupRequired: (403, "two-factor-setup-required"),
    errors.PermissionDenied: (403, "forbidden"),
    errors.NotFound: (404, "not-found"),
    errors.DomainTaken: (409, "domain-taken"),
    errors.PlanTooSmall: (409, "plan-too-small"),
    errors.Conflict: (409, "conflict"),
    errors.QuotaExceeded: (402, "quota-exceeded"),
    errors.NoCapacity: (503, "no-capacity"),
    errors.MailUnavailable: (503, "mail-unavailable"),
    errors.PaymentRequired: (402, "payment-required"),
    errors.InvalidWebhook: (400, "invalid-webhook"),
    errors.BillingUnavailable: (503, "billing-unavailable"),
    errors.ObservabilityUnavailable: (503, "observability-unavailable"),
}


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    *,
    errors: dict | None = None,
    headers: dict | None = None,
    **extra,
) -> Response:
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# RFC 9110's names where Python's table still has the older ones.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def _title_of(status: int) -> str:
    return _TITLES.get(status) or HTTPStatus(status).phrase


def from_service_error(error: errors.ChomError) -> Response:
    for cls in type(error).__mro__:
        if cls in SERVICE_ERRORS:
            status, slug = SERVICE_ERRORS[cls]
            break
    else:
        status, slug = 400, "bad-request"
    extra = {k: v for k, v in error.extra.items() if k != "errors"}
    return problem(
        status,
        _title_of(status),
        error.detail,
        slug,
        errors=getattr(error, "errors", None),
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
        **extra,
    )


def _flatten_validation(messages: dict) -> dict[str, list[str]]:
    """webargs reports `{location: {field: [msg] | {nested}}}`; the API answers
    `{"field": [msg], "sites.3.domain": [msg]}`."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                name = "body" if key == "_schema" and not prefix else str(key)
                walk(f"{prefix}.{name}" if prefix else name, inner)
        else:
            flat.setdefault(prefix or "body", []).extend(
                value if isinstance(value, list) else [str(value)])

    for location_messages in messages.values():
        walk("", location_messages)
    return flat


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    retry_after = None
    if status == 429:
        retry_after = getattr(error, "retry_after", None)
        detail = f"Rate limit exceeded ({error.description}). Try again later."
    else:
        detail = error.description or _title_of(status)
    if status == 422 and "messages" in data:
        return problem(
            422,
            _title_of(422),
            "The request has invalid fields.",
            "validation-failed",
            errors=_flatten_validation(data["messages"]),
        )
    if status == 400 and "messages" in data:
        detail = "The request body is not valid JSON."
    if status == 405:
        headers["Allow"] = ", ".join(error.valid_methods or [])
    response = problem(status, _title_of(status), detail, _SLUGS.get(status, "http-error"),
                       headers=headers)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


_SLUGS = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


def internal_error(error: Exception) -> Response:
    dependency = outages.unavailable_dependency(error)
    if dependency is not None:
        log.warning("%s unavailable on %s %s: %s", dependency, request.method, request.path,
                    error)
        return problem(503, "Service Unavailable",
                       f"The {dependency} is not reachable right now; try again shortly.",
                       "unavailable",
                       headers={"Retry-After": str(outages.RETRY_AFTER_SECONDS)})
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
    return problem(500, "Internal Server Error", "Something went wrong on our side.",
                   "internal-error")
