"""Accounts: registration, password log-in, and API tokens (hashed at rest, shown once)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import and_, bindparam, select, update

from chom.extensions import db
from chom.models import ApiToken, Membership, Organization, Subscription, Tenant, User
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.services import audit, tenancy
from chom.services.errors import (
    Conflict,
    InvalidCredentials,
    NotFound,
    ValidationFailed,
)
from chom.services.lookup import get_or_not_found
from chom.services.passwords import hash_password, hasher
from chom.services.tenancy import Actor
from chom.services.two_factor import require_second_factor

TOKEN_PREFIX = "chom_"
MIN_PASSWORD_LENGTH = 10
# Writing last_used_at on every request would make each API call a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def check_password_strength(password: str, *, email: str = "") -> None:
    """Raise `ValidationFailed` for a password too short or too close to the email."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if email and password.lower() in email.lower():
        problems.append("The password must not be part of the email address.")
    if len(set(password)) < 4:
        problems.append("Use more different characters.")
    if problems:
        raise ValidationFailed({"password": problems})


def _token_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@dataclass(frozen=True)
class Registration:
    user: User
    organization: Organization
    tenant: Tenant
    token: str


def register(*, organization: str, name: str, email: str, password: str) -> Registration:
    """Create an organization, its first tenant (Starter, trialing) and its owner.

    Raises `Conflict` when the email is taken, `ValidationFailed` for a weak password.
    """
    email = email.strip().lower()
    check_password_strength(password, email=email)
    with unscoped():
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict("An account with this email already exists.")
        org = Organization(name=organization.strip())
        trial_days = current_app.config["CHOM_TRIAL_DAYS"]
        tenant = Tenant(
            organization=org,
            name=organization.strip(),
            plan="starter",
            status="trialing",
            trial_ends_at=utcnow() + timedelta(days=trial_days),
        )
        user = User(email=email, name=name.strip(), password_hash=hash_password(password))
        membership = Membership(user=user, organization=org, role="owner", all_tenants=True)
        db.session.add_all([org, tenant, user, membership])
        db.session.flush()
        db.session.add(Subscription(organization_id=org.id, status="trialing"))
        token, plain = _new_token(user, org.id, name="registration", abilities=["*"])
        db.session.commit()
    return Registration(user=user, organization=org, tenant=tenant, token=plain)


_DUMMY_HASH: str | None = None


def authenticate(email: str, password: str) -> User:
    """Return the user with these credentials, or raise `InvalidCredentials`."""
    global _DUMMY_HASH
    argon = hasher()
    with unscoped():
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        # Spend the same time as a real check, so response time does not reveal accounts.
        _DUMMY_HASH = _DUMMY_HASH or argon.hash(secrets.token_hex(8))
        with contextlib.suppress(VerificationError):
            argon.verify(_DUMMY_HASH, password)
        raise InvalidCredentials()
    try:
        argon.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise InvalidCredentials() from None
    if argon.check_needs_rehash(user.password_hash):
        user.password_hash = argon.hash(password)
        db.session.commit()
    return user


def _new_token(
    user: User,
    organization_id: uuid.UUID,
    *,
    name: str,
    abilities: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        organization_id=organization_id,
        name=name,
        token_hash=_token_digest(plain),
        prefix=plain[:12],
        abilities=abilities,
        expires_at=expires_at,
    )
    db.session.add(token)
    return token, plain


def login_token_for(user: User, organization_id: uuid.UUID) -> str:
    """A new log-in token (all abilities of the role) in that organization, added to the
    session for the caller to commit; returns the plain value, shown once."""
    _, plain = _new_token(user, organization_id, name="login", abilities=["*"])
    return plain


@dataclass(frozen=True)
class LoginResult:
    user: User
    membership: Membership
    organization: Organization
    token: str


def login_token(user: User) -> LoginResult:
    """Issue a token for a password log-in (all abilities of the user's role) in the user's
    first organization."""
    with unscoped():
        membership = db.session.scalars(
            select(Membership).where(Membership.user_id == user.id).order_by(Membership.created_at)
        ).first()
        if membership is None:
            raise NotFound("This account belongs to no organization.")
        organization = membership.organization
        _, plain = _new_token(user, membership.organization_id, name="login", abilities=["*"])
        db.session.commit()
    return LoginResult(user, membership, organization, plain)


def login(email: str, password: str, otp: str | None = None) -> LoginResult:
    """Check the credentials (and the second factor when the account has one) and issue a
    log-in token; `InvalidCredentials` or `TwoFactorRequired` otherwise."""
    user = authenticate(email, password)
    require_second_factor(user, otp)
    return login_token(user)


@dataclass(frozen=True)
class TokenGrant:
    """What a valid bearer token grants, as plain values: its user, and the membership and
    reachable tenants of the token's organization (rows of `tenancy.REACH_COLUMNS`)."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    abilities: list[str]
    reach: list


_tokens = ApiToken.__table__
_users = User.__table__
# Token, active user, membership in the token's organization and the tenants it reaches, in one
# round trip. Revocation, expiry, a deactivated user and a removed membership all show here, on
# every request: nothing about a token is cached.
_GRANT_QUERY = (
    select(
        _tokens.c.id.label("token_id"),
        _tokens.c.user_id,
        _tokens.c.abilities,
        _tokens.c.expires_at,
        _tokens.c.last_used_at,
        *tenancy.REACH_COLUMNS,
    )
    .select_from(
        tenancy.join_reach(
            _tokens.join(_users, and_(_users.c.id == _tokens.c.user_id, _users.c.is_active)),
            and_(
                Membership.__table__.c.user_id == _tokens.c.user_id,
                Membership.__table__.c.organization_id == _tokens.c.organization_id,
            ),
        )
    )
    .where(_tokens.c.token_hash == bindparam("digest"), _tokens.c.revoked_at.is_(None))
    .order_by(*tenancy.REACH_ORDER)
)


def grant_for_token(plain: str) -> TokenGrant | None:
    """What a bearer value grants, or None when unknown, revoked, expired or its user is
    deactivated. A token whose membership is gone comes back with no membership in `reach`
    (`tenancy.actor_from_reach` answers `NotFound` for it)."""
    if not plain.startswith(TOKEN_PREFIX):
        return None
    with unscoped():  # an authentication look-up
        rows = db.session.execute(_GRANT_QUERY, {"digest": _token_digest(plain)}).all()
        if not rows:
            return None
        first = rows[0]
        now = utcnow()
        if first.expires_at is not None and first.expires_at <= now:
            return None
        if first.last_used_at is None or first.last_used_at < now - LAST_USED_RESOLUTION:
            db.session.execute(
                update(ApiToken).where(ApiToken.id == first.token_id).values(last_used_at=now)
            )
            db.session.commit()
    return TokenGrant(first.token_id, first.user_id, list(first.abilities or []), rows)


def create_token(
    actor: Actor, *, name: str, abilities: list[str], expires_at: datetime | None
) -> tuple[ApiToken, str]:
    """Create a named token for the actor; the plain value is returned once, never stored."""
    actor.require("tokens:manage")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed({"expires_at": ["Must be in the future."]})
    token, plain = _new_token(
        actor.user, actor.organization_id, name=name, abilities=abilities, expires_at=expires_at
    )
    db.session.flush()
    audit.record(actor, "token.created", token, name=name, abilities=abilities)
    db.session.commit()
    return token, plain


def list_tokens(actor: Actor) -> list[ApiToken]:
    """The actor's own live tokens, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(actor: Actor, token_id: uuid.UUID) -> None:
    """Revoke one of the actor's tokens; it stops working at once."""
    token = get_or_not_found(ApiToken, token_id, "Token")
    if token.revoked_at is not None:
        raise NotFound("Token not found.")
    token.revoked_at = utcnow()
    audit.record(actor, "token.revoked", token)
    db.session.commit()


def active_user(user_id: uuid.UUID) -> User | None:
    """The user with this id when active (an authentication look-up)."""
    with unscoped():
        return db.session.scalar(select(User).where(User.id == user_id, User.is_active))


def user_for_session(session_id: str) -> User | None:
    """The user of a console session id (`<uuid>:<generation>`), None once it is stale."""
    raw_id, _, generation = session_id.partition(":")
    try:
        key = uuid.UUID(raw_id)
    except ValueError:
        return None
    with unscoped():
        user = db.session.scalar(select(User).where(User.id == key))
    if user is None or not user.is_active or str(user.session_generation) != generation:
        return None
    return user
