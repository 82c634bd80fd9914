"""People and their access: users, memberships, invitations and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chom.models.base import Base, OrganizationOwned, PublicId, Timestamps, UserOwned
from chom.models.organizations import Organization, Tenant

ROLES = ("owner", "admin", "member", "viewer")

membership_tenants = Table(
    "membership_tenants",
    Base.metadata,
    Column(
        "membership_id", ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
)


class User(PublicId, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_operator: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped to end every console session at once (role removed, password changed).
    session_generation: Mapped[int] = mapped_column(default=0)
    # TOTP two-factor: the secret (encrypted), when it was confirmed, hashed recovery codes.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None]
    # The time step of the last code accepted: that code (and older ones) cannot be used again.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_code_hashes: Mapped[list | None] = mapped_column(JSON, default=list)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", order_by="Membership.created_at"
    )

    # The four members Flask-Login asks of a user object.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"


class Membership(PublicId, Timestamps, OrganizationOwned, Base):
    """A user's role in an organization, for all of its tenants or only some."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    all_tenants: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship()
    tenants: Mapped[list[Tenant]] = relationship(secondary=membership_tenants)


class Invitation(PublicId, Timestamps, OrganizationOwned, Base):
    __tablename__ = "invitations"
    __table_args__ = (
        # One pending invitation per address and organization, even for invites racing.
        Index(
            "uq_invitations_pending_email",
            "organization_id",
            "email",
            unique=True,
            sqlite_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    all_tenants: Mapped[bool] = mapped_column(default=True)
    tenant_ids: Mapped[list] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiToken(PublicId, Timestamps, UserOwned, Base):
    """A bearer token; only its SHA-256 is stored, the plain value is shown once."""

    __tablename__ = "api_tokens"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    abilities: Mapped[list] = mapped_column(JSON, default=lambda: ["*"])
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
