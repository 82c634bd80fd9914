"""Billing jobs: ids in, a service call, nothing else."""

from chom.services import billing_sync


def sync_subscription(event_id: str, subscription_id: str) -> None:
    """A Stripe event's work: apply the subscription as Stripe holds it now."""
    billing_sync.handle_event(event_id, subscription_id)


def enforce_standing() -> None:
    """Suspend or resume sites as each tenant's billing standing now requires."""
    billing_sync.enforce_standing()
