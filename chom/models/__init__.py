"""SQLAlchemy models, one module per aggregate; importing this package installs scoping."""

from chom.models import scoping  # noqa: F401  (registers the ORM event listener)
from chom.models.audit import AuditLog
from chom.models.base import Base
from chom.models.billing import Subscription, WebhookEvent
from chom.models.fleet import VpsAllocation, VpsServer
from chom.models.notifications import CHANNEL_KINDS, NotificationChannel
from chom.models.organizations import TENANT_STATUSES, Organization, Tenant
from chom.models.sites import (
    BACKUP_STATUSES,
    OPERATION_STATUSES,
    SITE_STATUSES,
    Backup,
    Operation,
    Site,
)
from chom.models.usage import UsageSnapshot
from chom.models.users import ROLES, ApiToken, Invitation, Membership, User

__all__ = [
    "ApiToken",
    "AuditLog",
    "BACKUP_STATUSES",
    "Backup",
    "Base",
    "CHANNEL_KINDS",
    "Invitation",
    "Membership",
    "NotificationChannel",
    "OPERATION_STATUSES",
    "Operation",
    "Organization",
    "ROLES",
    "SITE_STATUSES",
    "Site",
    "Subscription",
    "TENANT_STATUSES",
    "Tenant",
    "UsageSnapshot",
    "User",
    "VpsAllocation",
    "VpsServer",
    "WebhookEvent",
]
