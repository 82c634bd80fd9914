"""TOTP two-factor authentication (pyotp) with single-use recovery codes.

Set-up is two steps: `begin_setup` stores a new secret (encrypted) and returns its
provisioning URI for an authenticator app; `enable` confirms with a first code and returns
ten recovery codes, shown once and stored hashed. Log-in then asks for a code (or a recovery
code, which is spent). A code works once: the time step of the last one accepted is kept, and
a code of that step or an earlier one is refused (no replay within the code's window).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from flask import current_app
from sqlalchemy import or_, update

from chom.extensions import db
from chom.models import User
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services import audit
from chom.services.errors import (
    Conflict,
    InvalidCredentials,
    TwoFactorRequired,
    ValidationFailed,
)
from chom.services.passwords import hash_password, password_matches
from chom.services.tenancy import Actor

ISSUER = "CHOM"
RECOVERY_CODES = 10


@dataclass(frozen=True)
class Setup:
    secret: str
    provisioning_uri: str


def _box():
    return current_app.extensions["chom_secrets"]


def _user(actor: Actor) -> User:
    with unscoped():
        return db.session.get(User, actor.user_id)


def begin_setup(actor: Actor) -> Setup:
    """A new secret for the actor, not active until `enable` confirms a code from it."""
    user = _user(actor)
    if user.totp_enabled_at is not None:
        raise Conflict("Two-factor authentication is already on; disable it first.")
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = _box().encrypt(secret)
    db.session.commit()
    return Setup(secret, pyotp.TOTP(secret).provisioning_uri(name=user.email,
                                                             issuer_name=ISSUER))


def pending_setup(actor: Actor) -> Setup | None:
    """The set-up begun and not yet confirmed (to show its QR code again), else None."""
    user = _user(actor)
    if user.totp_enabled_at is not None or not user.totp_secret_encrypted:
        return None
    secret = _box().decrypt(user.totp_secret_encrypted)
    return Setup(secret, pyotp.TOTP(secret).provisioning_uri(name=user.email,
                                                             issuer_name=ISSUER))


def is_enabled(actor: Actor) -> bool:
    """Whether the actor's account asks for a second factor at log-in."""
    return _user(actor).totp_enabled_at is not None


def enable(actor: Actor, otp: str) -> list[str]:
    """Confirm the pending secret with a code; returns the recovery codes (shown once)."""
    user = _user(actor)
    if user.totp_enabled_at is not None or not user.totp_secret_encrypted:
        raise Conflict("Start the set-up first (POST /api/v1/auth/2fa/setup).")
    if not _totp(user).verify(otp, valid_window=1):
        raise ValidationFailed({"otp": ["That code is not valid; check the device's clock."]})
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    user.recovery_code_hashes = [hash_password(code) for code in codes]
    user.totp_enabled_at = utcnow()
    audit.record(actor, "user.two_factor_enabled", user)
    db.session.commit()
    return codes


def disable(actor: Actor, otp: str) -> None:
    """Turn two-factor off; needs a current code or a recovery code."""
    user = _user(actor)
    if user.totp_enabled_at is None:
        raise Conflict("Two-factor authentication is not on.")
    if not check_second_factor(user, otp):
        raise ValidationFailed({"otp": ["That code is not valid."]})
    user.totp_secret_encrypted, user.totp_enabled_at, user.recovery_code_hashes = None, None, []
    audit.record(actor, "user.two_factor_disabled", user)
    db.session.commit()


def _totp(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(_box().decrypt(user.totp_secret_encrypted))


def _time_step_of(totp: pyotp.TOTP, otp: str) -> int | None:
    """The time step, within one of now (clock drift), whose code is `otp`; else None."""
    now = totp.timecode(datetime.now(UTC))
    return next((step for step in (now - 1, now, now + 1)
                 if hmac.compare_digest(totp.generate_otp(step), otp)), None)


def _spend_time_step(user: User, step: int) -> bool:
    """Record `step` as the user's last accepted code, once: a code (or an older one) seen
    before is refused, even by two log-ins racing with the same code."""
    with unscoped():
        spent = db.session.execute(
            update(User).where(User.id == user.id,
                               or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step).execution_options(synchronize_session=False))
        db.session.commit()
    return spent.rowcount == 1


def check_second_factor(user: User, otp: str | None) -> bool:
    """Whether `otp` is a current code not used before (a code works once) or an unused
    recovery code (which is then spent)."""
    if not otp:
        return False
    otp = otp.strip().replace(" ", "")
    if otp.isdigit():
        step = _time_step_of(_totp(user), otp)
        return step is not None and _spend_time_step(user, step)
    for stored in list(user.recovery_code_hashes or []):
        if password_matches(stored, otp.lower()):
            user.recovery_code_hashes = [h for h in user.recovery_code_hashes if h != stored]
            db.session.commit()
            return True
    return False


def require_second_factor(user: User, otp: str | None) -> None:
    """At log-in: nothing to do without 2FA; else `TwoFactorRequired` or `InvalidCredentials`."""
    if user.totp_enabled_at is None:
        return
    if not otp:
        raise TwoFactorRequired()
    if not check_second_factor(user, otp):
        raise InvalidCredentials("That authentication code is not valid.")
