"""Exceptions with a meaning. The API maps each to problem+json in one place."""

from __future__ import annotations


class ChomError(Exception):
    """Base of every error a caller can act on; `detail` is safe to show to the user."""

    def __init__(self, detail: str = "", **extra) -> None:
        super().__init__(detail)
        self.detail = detail or self.__doc__ or ""
        self.extra = extra


class NotFound(ChomError):
    """The resource does not exist (or belongs to someone else)."""


class NotAuthenticated(ChomError):
    """Authentication is required."""


class InvalidCredentials(NotAuthenticated):
    """The email or password is wrong."""


class TwoFactorRequired(NotAuthenticated):
    """This account uses two-factor authentication: send the code as `otp`."""


class PermissionDenied(ChomError):
    """Your role does not allow this action."""


class TwoFactorSetupRequired(PermissionDenied):
    """Your organization requires two-factor authentication: set it up first
    (POST /api/v1/auth/2fa/setup, then /api/v1/auth/2fa/enable)."""


class ValidationFailed(ChomError):
    """The request has invalid fields."""

    def __init__(self, errors: dict[str, list[str]], detail: str = "") -> None:
        super().__init__(detail or "The request has invalid fields.", errors=errors)
        self.errors = errors


class Conflict(ChomError):
    """The request conflicts with the current state."""


class DomainTaken(Conflict):
    """That domain is already used by a site on this platform."""


class QuotaExceeded(ChomError):
    """The plan's quota is reached."""


class NoCapacity(ChomError):
    """No VPS in the fleet has room for this site right now."""


class MailUnavailable(ChomError):
    """The mail server did not take the message; try again later."""


class PlanTooSmall(Conflict):
    """The tenant uses more than the chosen plan allows."""


class PaymentRequired(ChomError):
    """The tenant's subscription is not paid: sites are suspended and none can be created."""


class InvalidWebhook(ChomError):
    """The webhook is unsigned, forged, signed for another secret, or stale."""


class BillingUnavailable(ChomError):
    """The payment provider could not be reached or refused the request."""


class ObservabilityUnavailable(ChomError):
    """The metrics, logs or alerts backend is not available, and no earlier answer is kept."""
