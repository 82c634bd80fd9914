"""Password reset by email: a signed, expiring link that works once.

The token is signed with itsdangerous (the app's SECRET_KEY, its own salt) and carries the
user id and a fingerprint of the current password hash and session generation, as Django's
reset tokens do: once the password changes, every earlier link stops matching, so a link
works once without any row to store. Asking for a link answers the same whether or not the
account exists (the email is sent by a job), so the API reveals no accounts.

A reset ends every console session and revokes every API token of the user (as Laravel
Forge does for a password reset): whoever held the old password keeps nothing.
"""

from __future__ import annotations

import hashlib
import uuid

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update

from chom.extensions import db
from chom.integration.queue import current_queue
from chom.models import ApiToken, Membership, User
from chom.models.base import utcnow
from chom.models.scoping import scoped, unscoped
from chom.services import accounts, audit, mail, tenancy
from chom.services.errors import NotFound

SALT = "chom-password-reset"
SEND_JOB = "chom.jobs.mail.send_password_reset"
INVALID = "This password-reset link is not valid: it expired or was already used."


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    material = f"{user.password_hash}:{user.session_generation}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def make_token(user: User) -> str:
    return _serializer().dumps({"user": str(user.id), "fp": _fingerprint(user)})


def request_reset(email: str) -> None:
    """Email a reset link to `email` when it names an active account; silent otherwise."""
    with unscoped():
        user_id = db.session.scalar(select(User.id).where(
            User.email == email.strip().lower(), User.is_active))
    if user_id is not None:
        current_queue().enqueue(SEND_JOB, str(user_id), retries=3, retry_intervals=[10, 60, 300])


def send_reset_email(user_id: str) -> None:
    """The job's work: sign a fresh link for the user and email it."""
    with unscoped():
        user = db.session.scalar(select(User).where(User.id == uuid.UUID(user_id)))
    if user is None or not user.is_active:
        return
    minutes = current_app.config["CHOM_PASSWORD_RESET_TTL_MINUTES"]
    mail.send(
        to=user.email,
        subject="Reset your CHOM password",
        text=(
            f"Someone asked to reset the password of {user.email} on CHOM.\n\n"
            f"Choose a new password here (valid for {minutes} minutes, once):\n"
            f"{mail.link('/password/reset', token=make_token(user))}\n\n"
            "If it was not you, ignore this email: your password stays as it is.\n"
        ),
    )


def _user_for_token(token: str) -> User:
    max_age = current_app.config["CHOM_PASSWORD_RESET_TTL_MINUTES"] * 60
    try:
        payload = _serializer().loads(token, max_age=max_age)
        user_id = uuid.UUID(payload["user"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(INVALID) from None
    with unscoped():
        user = db.session.scalar(select(User).where(User.id == user_id, User.is_active))
    if user is None or payload.get("fp") != _fingerprint(user):
        raise NotFound(INVALID)
    return user


def check_token(token: str) -> User:
    """The user a reset link is for; `NotFound` when it is forged, expired or used."""
    return _user_for_token(token)


def reset_password(token: str, password: str,
                   request: tenancy.RequestInfo | None = None) -> User:
    """Set a new password from a reset link; ends every session and token of the user.

    `NotFound` for a bad, expired or used link; `ValidationFailed` for a weak password.
    """
    user = _user_for_token(token)
    accounts.check_password_strength(password, email=user.email)
    with unscoped():
        user.password_hash = accounts.hash_password(password)
        user.session_generation += 1
        db.session.execute(update(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()))
        organizations = db.session.scalars(select(Membership.organization_id).where(
            Membership.user_id == user.id)).all()
    for organization_id in organizations:
        actor = tenancy.resolve_actor(user, organization_id=organization_id, request=request)
        with scoped(actor.scope):
            audit.record(actor, "user.password_reset", user)
    db.session.commit()
    return user
