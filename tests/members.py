"""Adding members to an organization directly (the invitation flow is its own feature)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from chom.extensions import db
from chom.models import Membership, Tenant, User
from chom.services import accounts


def add_member(app, account, role: str, tenant_ids: list[str] | None = None,
               password: str = "irrelevant password 1") -> dict:
    """A user with `role` in `account`'s organization (all tenants, or only `tenant_ids`),
    who logs in with `password`.

    Returns `{"user_id", "email", "token", "headers"}`.
    """
    with app.app_context():
        user = User(email=f"{role}-{uuid.uuid4().hex[:8]}@members.test", name=role.title(),
                    password_hash=accounts.hash_password(password))
        membership = Membership(user=user, organization_id=uuid.UUID(account.organization_id),
                                role=role, all_tenants=tenant_ids is None)
        if tenant_ids is not None:
            membership.tenants = list(db.session.scalars(
                select(Tenant).where(Tenant.id.in_([uuid.UUID(t) for t in tenant_ids]))))
        db.session.add_all([user, membership])
        db.session.commit()
        token = accounts.login_token(user).token
        return {"user_id": str(user.id), "email": user.email, "token": token,
                "headers": {"Authorization": f"Bearer {token}"}}


def headers_for(app, owner, register, role: str) -> dict:
    """The headers a role of the role matrices calls with: `owner`'s own, another
    organization's owner ("other"), none ("anonymous"), or a new member with that role."""
    if role == "owner":
        return owner.headers
    if role == "other":
        return register("Other").headers
    if role == "anonymous":
        return {}
    return add_member(app, owner, role)["headers"]
