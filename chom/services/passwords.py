"""Password (and recovery code) hashing with argon2id; the profile is a setting."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


def hasher() -> PasswordHasher:
    """argon2id with `CHOM_PASSWORD_HASH_PROFILE` (RFC 9106 low-memory by default)."""
    profile = current_app.config.get("CHOM_PASSWORD_HASH_PROFILE", "RFC_9106_LOW_MEMORY")
    return PasswordHasher.from_parameters(getattr(profiles, profile))


def hash_password(password: str) -> str:
    return hasher().hash(password)


def password_matches(stored_hash: str, candidate: str) -> bool:
    try:
        return hasher().verify(stored_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False
