"""Platform operators and the embedded demo set-up."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from chom.extensions import db
from chom.integration.transports.local import sandbox_profile
from chom.models import Membership, Organization, Subscription, Tenant, User, VpsServer
from chom.models.scoping import unscoped
from chom.services import accounts, fleet

DEMO_EMAIL = "demo@chom.local"

# The organization platform operators without one of their own belong to: through it they log
# in, hold API tokens (the fleet API) and use the console like any member. Its id is fixed, so
# no customer's organization (their ids are random) can be taken for it.
PLATFORM_ORGANIZATION_ID = uuid.UUID("6c1d0e52-7f4b-5c3e-9a41-0c40a7e2f001")
PLATFORM_ORGANIZATION_NAME = "Platform operators"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    token: str | None


def create_operator(*, email: str, name: str, password: str) -> User:
    """Create a platform operator, or promote an existing user to one. An operator who belongs
    to no organization becomes an owner of the platform organization (made on first use)."""
    email = email.strip().lower()
    with unscoped():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            accounts.check_password_strength(password, email=email)
            user = User(email=email, name=name, password_hash=accounts.hash_password(password))
            db.session.add(user)
        user.is_operator = True
        if user.id is None or db.session.scalar(
                select(Membership.id).where(Membership.user_id == user.id).limit(1)) is None:
            db.session.add(Membership(user=user, organization=_platform_organization(),
                                      role="owner", all_tenants=True))
        db.session.commit()
    return user


def _platform_organization() -> Organization:
    organization = db.session.get(Organization, PLATFORM_ORGANIZATION_ID)
    if organization is None:
        organization = Organization(id=PLATFORM_ORGANIZATION_ID, name=PLATFORM_ORGANIZATION_NAME)
        tenant = Tenant(organization=organization, name="Operations", plan="starter",
                        status="active")
        db.session.add_all([organization, tenant])
        db.session.flush()
        db.session.add(Subscription(organization_id=organization.id, status="active"))
    return organization


def local_vps_settings(root: str) -> dict:
    """The `local` VPS's profile: everything under `root` on this machine."""
    return sandbox_profile(root)


def ensure_demo(config) -> DemoLogin:
    """Idempotent: the `local` VPS when the fleet is empty, and a demo organization login.

    The demo password is generated on first run and kept in the instance folder.
    """
    with unscoped():
        if db.session.scalar(select(VpsServer.id).limit(1)) is None:
            root = config["CHOM_LOCAL_VPS_ROOT"]
            fleet.add_vps(name="local", host="localhost", transport="local", capacity=100,
                          ssh_user="", settings=local_vps_settings(root))
        password_file = Path(config["CHOM_LOCAL_VPS_ROOT"]).parent / "demo_password"
        if password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
        exists = db.session.scalar(select(User.id).where(User.email == DEMO_EMAIL))
    if exists is not None:
        return DemoLogin(DEMO_EMAIL, password, None)
    result = accounts.register(organization="Demo Agency", name="Demo Owner",
                               email=DEMO_EMAIL, password=password)
    return DemoLogin(DEMO_EMAIL, password, result.token)
