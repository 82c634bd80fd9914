"""Billing request and response schemas (plans, usage, subscription, checkout, invoices)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from chom.api.schemas import StrictSchema


class PlanOut(ma.Schema):
    name = fields.String()
    price_cents = fields.Integer(metadata={"description": "per month, in US cents"})
    currency = fields.Constant("usd")
    interval = fields.Constant("month")
    max_sites = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})
    storage_gb = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})
    dedicated_vps = fields.Boolean()


class UsageOut(ma.Schema):
    sites = fields.Integer()
    max_sites = fields.Integer(allow_none=True)
    storage_bytes = fields.Integer(metadata={"description": "the sum of the backups' sizes"})
    storage_limit_bytes = fields.Integer(allow_none=True)


class TenantBillingOut(ma.Schema):
    tenant_id = fields.UUID()
    tenant_name = fields.String()
    plan = fields.String()
    status = fields.String(metadata={"description": "trialing, active, past_due, canceled, "
                                                    "suspended"})
    standing = fields.String(metadata={"description": "ok, grace (past due: warning) or "
                                                      "blocked (sites suspended)"})
    warning = fields.String(allow_none=True)
    grace_ends_at = fields.DateTime(allow_none=True)
    trial_ends_at = fields.DateTime(allow_none=True)
    subscribed = fields.Boolean(metadata={"description": "billed by the subscription"})
    usage = fields.Nested(UsageOut)


class SubscriptionOut(ma.Schema):
    status = fields.String(allow_none=True)
    current_period_end = fields.DateTime(allow_none=True)
    cancel_at_period_end = fields.Boolean()
    monthly_cents = fields.Integer()
    tenants = fields.List(fields.Nested(TenantBillingOut))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())


class CheckoutIn(StrictSchema):
    plan = fields.String(required=True, validate=validate.Length(1, 40))


class CheckoutOut(ma.Schema):
    action = fields.String(metadata={"description": "checkout: open `url` to pay; changed: "
                                                    "the plan changed at once"})
    url = fields.String(allow_none=True)
    session_id = fields.String(allow_none=True)
    tenant = fields.Nested(TenantBillingOut)


class PortalOut(ma.Schema):
    url = fields.String()


class InvoiceArgs(ma.Schema):
    limit = fields.Integer(load_default=24, validate=validate.Range(1, 100))


class InvoiceOut(ma.Schema):
    id = fields.String()
    number = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    currency = fields.String()
    amount_due = fields.Integer()
    amount_paid = fields.Integer()
    created = fields.DateTime()
    period_start = fields.DateTime(allow_none=True)
    period_end = fields.DateTime(allow_none=True)
    hosted_invoice_url = fields.String(allow_none=True)
    invoice_pdf = fields.String(allow_none=True)


class WebhookAnswer(ma.Schema):
    received = fields.Boolean()
    outcome = fields.String(metadata={"description": "queued, duplicate or ignored"})
