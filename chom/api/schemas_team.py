"""Request and response schemas for the team: invitations, members, the organization and
password reset."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from chom.api.schemas import StrictSchema, new_password
from chom.models.users import ROLES
from chom.services.invitations import INVITABLE_ROLES


class _Scope(StrictSchema):
    all_tenants = fields.Boolean(metadata={"description": "true: every tenant, now and later"})
    tenant_ids = fields.List(fields.UUID(), validate=validate.Length(max=500),
                             metadata={"description": "the tenants reached when not all"})

    @ma.validates_schema
    def _scope_is_consistent(self, data, **_kwargs):
        if data.get("all_tenants") is False and not data.get("tenant_ids"):
            raise ma.ValidationError("Name at least one tenant, or all tenants.", "tenant_ids")
        if data.get("all_tenants") is True and data.get("tenant_ids"):
            raise ma.ValidationError("Give tenant_ids only with all_tenants false.",
                                     "tenant_ids")


class InvitationIn(_Scope):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    role = fields.String(required=True, validate=validate.OneOf(INVITABLE_ROLES))
    all_tenants = fields.Boolean(load_default=True)


class InvitationOut(ma.Schema):
    id = fields.UUID()
    email = fields.String()
    role = fields.String()
    all_tenants = fields.Boolean()
    tenant_ids = fields.List(fields.String())
    expires_at = fields.DateTime()
    expired = fields.Boolean()
    created_at = fields.DateTime()


class AcceptIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(1, 200))
    name = fields.String(validate=validate.Length(1, 200),
                         metadata={"description": "for a new account"})
    password = new_password(metadata={"description": "for a new account"})


class AcceptOut(ma.Schema):
    token = fields.String(allow_none=True,
                          metadata={"description": "a bearer token for a new account, once"})
    member = fields.Dict()
    organization = fields.Dict()


class MemberTenant(ma.Schema):
    id = fields.UUID()
    name = fields.String()


class MemberUser(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String()
    two_factor = fields.Boolean()


class MemberOut(ma.Schema):
    id = fields.UUID()
    role = fields.String()
    all_tenants = fields.Boolean()
    tenants = fields.List(fields.Nested(MemberTenant))
    user = fields.Nested(MemberUser)
    created_at = fields.DateTime()


class MemberPatch(_Scope):
    role = fields.String(validate=validate.OneOf(ROLES))


class OrganizationDetail(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    require_two_factor = fields.Boolean()


class OrganizationPatch(StrictSchema):
    name = fields.String(validate=validate.Length(1, 200))
    require_two_factor = fields.Boolean()


class ForgotIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(1, 320))


class ResetIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(1, 500))
    password = new_password(required=True)
