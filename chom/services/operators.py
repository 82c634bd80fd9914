"""Platform operators and the embedded demo set-up."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from chom.extensions import db
from chom.integration.transports.local import sandbox_profile
from chom.models import User, VpsServer
from chom.models.scoping import unscoped
from chom.services import accounts, fleet

DEMO_EMAIL = "demo@chom.local"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    token: str | None


def create_operator(*, email: str, name: str, password: str) -> User:
    """Create a platform operator, or promote an existing user to one."""
    email = email.strip().lower()
    with unscoped():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            accounts.check_password_strength(password, email=email)
            user = User(email=email, name=name, password_hash=accounts.hash_password(password))
            db.session.add(user)
        user.is_operator = True
        db.session.commit()
    return user


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
