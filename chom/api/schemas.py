"""Request and response schemas: they validate input AND generate the OpenAPI document."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from chom.models import SITE_STATUSES
from chom.services.accounts import MIN_PASSWORD_LENGTH
from chom.services.domains import InvalidDomain, normalize_domain
from chom.services.lookup import MAX_PAGE
from chom.services.policy import ALL_PERMISSIONS
from chom.services.sites import MAX_BULK


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class Domain(fields.String):
    """A fully qualified host name, normalised to lowercase ASCII (punycode)."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_domain(raw)
        except InvalidDomain as error:
            raise ma.ValidationError(str(error)) from error


def new_password(**kwargs) -> fields.String:
    """A password being chosen. The accounts service judges it (length, strength) and names
    what is wrong; the document states its minimum length."""
    metadata = {"minLength": MIN_PASSWORD_LENGTH, **kwargs.pop("metadata", {})}
    return fields.String(load_only=True, validate=validate.Length(max=1024), metadata=metadata,
                         **kwargs)


def envelope(schema: type[ma.Schema] | ma.Schema, name: str, *, many: bool = False):
    """`{"data": ...}` around a schema, named for the OpenAPI components."""
    return ma.Schema.from_dict(
        {"data": fields.List(fields.Nested(schema)) if many else fields.Nested(schema)},
        name=name,
    )


# --- Accounts --------------------------------------------------------------------------------


class RegisterIn(StrictSchema):
    organization = fields.String(required=True, validate=validate.Length(1, 200))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = new_password(required=True)


class LoginIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(1, 320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))
    otp = fields.String(validate=validate.Length(max=16))


class OtpIn(StrictSchema):
    otp = fields.String(required=True, validate=validate.Length(1, 32))


class TwoFactorSetup(ma.Schema):
    secret = fields.String()
    otpauth_uri = fields.String()


class RecoveryCodes(ma.Schema):
    recovery_codes = fields.List(fields.String())


class UserOut(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String()
    is_operator = fields.Boolean()
    role = fields.String(metadata={"description": "role in the organization"})


class OrganizationOut(ma.Schema):
    id = fields.UUID()
    name = fields.String()


class TenantOut(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    plan = fields.String()
    status = fields.String()
    trial_ends_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class TenantUsage(ma.Schema):
    sites = fields.Integer()
    max_sites = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})


class TenantDetail(TenantOut):
    usage = fields.Nested(TenantUsage)


class TenantIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 200))


class AuthResult(ma.Schema):
    token = fields.String(metadata={"description": "bearer token, shown once"})
    user = fields.Nested(UserOut)
    organization = fields.Nested(OrganizationOut)


class Me(ma.Schema):
    user = fields.Nested(UserOut)
    organization = fields.Nested(OrganizationOut)
    tenant = fields.Nested(TenantOut, allow_none=True)
    tenants = fields.List(fields.Nested(TenantOut))


# --- Tokens ------------------------------------------------------------------------------------


class TokenIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    abilities = fields.List(
        fields.String(validate=validate.OneOf(["*", *sorted(ALL_PERMISSIONS)])),
        load_default=lambda: ["*"],
        validate=validate.Length(min=1),
    )
    expires_at = fields.AwareDateTime(allow_none=True, load_default=None)


class TokenOut(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    prefix = fields.String()
    abilities = fields.List(fields.String())
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class TokenCreated(TokenOut):
    token = fields.String(
        attribute="plain_value",
        metadata={"description": "the plain token; it is never shown again"},
    )


# --- Sites and operations -----------------------------------------------------------------------


class ContentUpload(ma.Schema):
    archive = Upload(required=True, metadata={"description": "a .zip, .tar or .tar.gz"})


class PageArgs(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(load_default=25, validate=validate.Range(1, 100))


class SiteListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(SITE_STATUSES))
    type = fields.String(validate=validate.Length(1, 40))


class SiteIn(StrictSchema):
    domain = Domain(required=True)
    type = fields.String(required=True, validate=validate.Length(1, 40))
    php_version = fields.String(allow_none=True, load_default=None)
    options = fields.Dict(keys=fields.String(), load_default=dict)
    dry_run = fields.Boolean(load_default=False)


class SiteSpecIn(StrictSchema):
    domain = Domain(required=True)
    type = fields.String(required=True, validate=validate.Length(1, 40))
    php_version = fields.String(allow_none=True, load_default=None)
    options = fields.Dict(keys=fields.String(), load_default=dict)


class SitesBulkIn(StrictSchema):
    sites = fields.List(fields.Nested(SiteSpecIn), required=True,
                        validate=validate.Length(1, MAX_BULK))


class VpsRef(ma.Schema):
    id = fields.UUID()
    name = fields.String()


class SslState(ma.Schema):
    enabled = fields.Boolean()
    expires_at = fields.DateTime(allow_none=True)


class SiteOut(ma.Schema):
    id = fields.UUID()
    domain = fields.String()
    type = fields.String()
    status = fields.String()
    php_version = fields.String(allow_none=True)
    vps = fields.Nested(VpsRef, allow_none=True)
    ssl = fields.Method("_ssl", metadata={"type": "object"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _ssl(self, site):
        return _SSL_STATE.dump({"enabled": site.ssl_enabled, "expires_at": site.ssl_expires_at})


_SSL_STATE = SslState()  # building a schema per site costs more than dumping with it


def _iso(value):
    return None if value is None else value.isoformat()


def site_row_out(row) -> dict:
    """`SiteOut`'s document for a row of `services.sites.list_site_rows`, without marshmallow
    (the hot list endpoint). `SiteOut` stays the documented shape, and a test holds the two
    equal."""
    return {
        "id": str(row.id),
        "domain": row.domain,
        "type": row.type,
        "status": row.status,
        "php_version": row.php_version,
        "vps": None if row.vps_id is None else {"id": str(row.vps_id), "name": row.vps_name},
        "ssl": {"enabled": bool(row.ssl_enabled), "expires_at": _iso(row.ssl_expires_at)},
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


class PageMeta(ma.Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class SiteList(ma.Schema):
    data = fields.List(fields.Nested(SiteOut))
    meta = fields.Nested(PageMeta)


class DeployHookOut(ma.Schema):
    url = fields.String(metadata={"description": "POST to it to deploy the site; shown once"})
    token = fields.String(metadata={"description": "the secret in `url`"})


class HookSkippedOut(ma.Schema):
    skipped = fields.Boolean()
    pushed = fields.String(metadata={"description": "the ref the push named"})
    deploys = fields.String(metadata={"description": "the site's `git_ref`"})


class OperationOut(ma.Schema):
    id = fields.UUID()
    site_id = fields.UUID(allow_none=True)
    kind = fields.String()
    status = fields.String()
    step_index = fields.Integer()
    step_count = fields.Integer()
    current_step = fields.String(allow_none=True)
    log = fields.String()
    error = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True)
    trace_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class OperationList(ma.Schema):
    data = fields.List(fields.Nested(OperationOut))
    meta = fields.Nested(PageMeta)


class SiteAccepted(ma.Schema):
    data = fields.Nested(SiteOut)
    meta = fields.Dict(metadata={"description": "`operation_id` of the provisioning run"})


class SitesAccepted(ma.Schema):
    data = fields.List(fields.Nested(SiteOut))
    meta = fields.Dict(metadata={"description": "`operation_ids`, in the order of `data`"})


class PlanStepOut(ma.Schema):
    index = fields.Integer()
    step = fields.String()
    description = fields.String()


class PlanPreviewOut(ma.Schema):
    dry_run = fields.Boolean()
    domain = fields.String()
    type = fields.String()
    vps = fields.String()
    action = fields.String()
    steps = fields.List(fields.Nested(PlanStepOut))


# --- Audit log --------------------------------------------------------------------------------


class AuditArgs(PageArgs):
    action = fields.String(validate=validate.Length(1, 80),
                           metadata={"description": "prefix, e.g. `site.`"})
    actor = fields.UUID(data_key="actor", attribute="actor_user_id")
    tenant = fields.UUID(data_key="tenant", attribute="tenant_id")
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()


class AuditEntryOut(ma.Schema):
    id = fields.UUID()
    created_at = fields.DateTime()
    actor_user_id = fields.UUID(allow_none=True)
    tenant_id = fields.UUID(allow_none=True)
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True)
    details = fields.Dict()


class AuditList(ma.Schema):
    data = fields.List(fields.Nested(AuditEntryOut))
    meta = fields.Nested(PageMeta)


# --- Health -----------------------------------------------------------------------------------


class HealthOut(ma.Schema):
    status = fields.String(validate=validate.OneOf(["ok", "degraded", "down"]))
    checks = fields.Dict()


class Problem(ma.Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
