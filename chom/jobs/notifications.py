"""Notification jobs: one delivery of one event to one channel."""

from chom.services import notifications


def deliver_notification(channel_id: str, payload: dict) -> None:
    """Send the event; raising makes the queue try again after the next interval."""
    notifications.deliver(channel_id, payload)
