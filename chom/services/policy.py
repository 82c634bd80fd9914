"""Who may do what: roles grant permissions, API token abilities narrow them."""

from __future__ import annotations

VIEWER = frozenset({"sites:read", "operations:read", "tenants:read", "tokens:manage",
                    "monitoring:read", "backups:read"})
# A backup's download link hands out the site's database: members and up, as for restoring.
MEMBER = VIEWER | {"sites:write", "alerts:silence", "backups:write", "backups:download"}
# Deleting a site or a backup is for admins: a member manages sites but cannot destroy one.
ADMIN = MEMBER | {"sites:delete", "tenants:write", "team:manage", "fleet:allocate", "audit:read",
                  "notifications:manage", "backups:delete", "health:read"}
# Owners alone touch owners, the organization's security settings and its ownership.
OWNER = ADMIN | {"billing:manage", "organization:delete", "organization:manage", "team:owners"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": VIEWER,
    "member": MEMBER,
    "admin": ADMIN,
    "owner": OWNER,
}

ALL_PERMISSIONS = OWNER


def allows(role: str, abilities: list[str] | None, permission: str) -> bool:
    """Whether a member with `role`, acting through a token with `abilities`, may do it.

    `abilities` is None for a console session (the role alone decides); `["*"]` on a token
    means everything the role allows.
    """
    if permission not in ROLE_PERMISSIONS.get(role, frozenset()):
        return False
    return abilities is None or "*" in abilities or permission in abilities
