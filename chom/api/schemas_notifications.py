"""Schemas of /notification-channels."""

import marshmallow as ma
from marshmallow import ValidationError, fields, validate, validates_schema

from chom.api.schemas import StrictSchema
from chom.services.notifications import EVENTS

_EVENTS = fields.List(fields.String(validate=validate.OneOf(sorted(EVENTS))),
                      metadata={"description": "events wanted; empty: all of them"})


class ChannelIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["webhook", "email"]))
    target = fields.String(required=True, validate=validate.Length(1, 500),
                           metadata={"description": "the webhook's http(s) URL, or the address"})
    events = _EVENTS

    @validates_schema
    def _email_target(self, data, **kwargs):
        if data.get("kind") == "email":
            _check_email(data.get("target", ""))


def _check_email(value: str) -> None:
    try:
        validate.Email(error="Not a valid email address.")(value)
    except ValidationError as error:
        raise ValidationError(error.messages, field_name="target") from None


class ChannelPatch(StrictSchema):
    target = fields.String(validate=validate.Length(1, 500))
    events = _EVENTS
    enabled = fields.Boolean()


class ChannelOut(ma.Schema):
    id = fields.UUID()
    kind = fields.String()
    target = fields.String()
    events = fields.List(fields.String())
    enabled = fields.Boolean()
    last_delivery_at = fields.DateTime(allow_none=True)
    last_delivery_status = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ChannelCreated(ChannelOut):
    secret = fields.String(allow_none=True, metadata={
        "description": "the webhook's signing secret, shown once"})


class TestDelivery(ma.Schema):
    delivery_id = fields.String()


class EventOut(ma.Schema):
    name = fields.String()
    description = fields.String()
