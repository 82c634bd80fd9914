"""/notification-channels: where an organization hears about failures and expiries."""

from flask_smorest import Blueprint

from chom.api import schemas_notifications as n
from chom.api.auth import current_actor
from chom.api.limits import api_limit
from chom.api.schemas import envelope
from chom.services import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/v1",
                description="Notification channels (webhooks)")
api_limit(blp)


@blp.route("/notification-events", methods=["GET"])
@blp.response(200, envelope(n.EventOut, "NotificationEventListEnvelope", many=True))
def list_events():
    """Every event a channel can ask for."""
    current_actor()  # signed-in callers only, like the rest of the API
    return {"data": [{"name": name, "description": text}
                     for name, text in notifications.EVENTS.items()]}


@blp.route("/notification-channels", methods=["GET"])
@blp.response(200, envelope(n.ChannelOut, "ChannelListEnvelope", many=True))
def list_channels():
    """The organization's channels (admin and owner)."""
    return {"data": notifications.list_channels(current_actor())}


@blp.route("/notification-channels", methods=["POST"])
@blp.arguments(n.ChannelIn)
@blp.response(201, envelope(n.ChannelCreated, "ChannelCreatedEnvelope"))
def create_channel(body):
    """Add a webhook; its signing secret is in this answer only."""
    channel, secret = notifications.create_channel(current_actor(), **body)
    channel.secret = secret  # shown in this response only; stored encrypted
    return {"data": channel}


@blp.route("/notification-channels/<channel_id>", methods=["GET"])
@blp.response(200, envelope(n.ChannelOut, "ChannelEnvelope"))
def show_channel(channel_id):
    """One channel, with its last delivery's outcome."""
    return {"data": notifications.get_channel(current_actor(), channel_id)}


@blp.route("/notification-channels/<channel_id>", methods=["PATCH"])
@blp.arguments(n.ChannelPatch)
@blp.response(200, envelope(n.ChannelOut, "ChannelUpdatedEnvelope"))
def update_channel(body, channel_id):
    """Change the URL, the events wanted, or switch the channel off and on."""
    return {"data": notifications.update_channel(current_actor(), channel_id, **body)}


@blp.route("/notification-channels/<channel_id>", methods=["DELETE"])
@blp.response(204)
def delete_channel(channel_id):
    """Remove a channel."""
    notifications.delete_channel(current_actor(), channel_id)


@blp.route("/notification-channels/<channel_id>/test", methods=["POST"])
@blp.response(202, envelope(n.TestDelivery, "TestDeliveryEnvelope"))
def test_channel(channel_id):
    """Queue a `test` event to this channel."""
    return {"data": {"delivery_id": notifications.send_test(current_actor(), channel_id)}}
