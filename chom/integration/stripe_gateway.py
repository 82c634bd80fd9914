"""Stripe through the official `stripe` library: the calls CHOM makes, answered as plain dicts.

One `StripeClient` per app, pointed at `STRIPE_API_BASE` (tests aim it at a local fake).
Webhook signatures are checked by `stripe.Webhook.construct_event` with the configured
tolerance. Nothing here knows about tenants or plans; `chom.services.billing*` does.
"""

from __future__ import annotations

import stripe

DEFAULT_TIMEOUT_RETRIES = 2


class StripeFailed(RuntimeError):
    """Stripe could not be reached, or refused the call; the message is safe to show."""


class WebhookRejected(ValueError):
    """A webhook payload whose signature is missing, forged, for another secret, or stale."""


def _plain(value) -> dict:
    return value.to_dict() if hasattr(value, "to_dict") else dict(value)


class StripeGateway:
    """The Stripe endpoints CHOM calls."""

    def __init__(self, *, api_key: str | None, api_base: str, webhook_secret: str | None,
                 tolerance: int) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance
        self._client = (
            stripe.StripeClient(api_key, base_addresses={"api": api_base},
                                max_network_retries=DEFAULT_TIMEOUT_RETRIES)
            if api_key else None
        )

    @property
    def v1(self):
        if self._client is None:
            raise StripeFailed("Billing is not configured (STRIPE_SECRET_KEY is unset).")
        return self._client.v1

    def _call(self, method, *args, **params) -> dict:
        try:
            return _plain(method(*args, params=params) if params else method(*args))
        except stripe.StripeError as error:
            message = getattr(error, "user_message", None) or str(error) or type(error).__name__
            raise StripeFailed(f"Stripe: {message}") from error

    def create_customer(self, *, name: str, email: str | None, metadata: dict) -> dict:
        return self._call(self.v1.customers.create, name=name, email=email, metadata=metadata)

    def create_checkout_session(self, *, customer: str, price: str, success_url: str,
                                cancel_url: str, metadata: dict,
                                subscription_metadata: dict) -> dict:
        """A hosted checkout page that starts a subscription with one item of `price`."""
        return self._call(
            self.v1.checkout.sessions.create,
            mode="subscription", customer=customer,
            line_items=[{"price": price, "quantity": 1}],
            success_url=success_url, cancel_url=cancel_url, metadata=metadata,
            subscription_data={"metadata": subscription_metadata},
        )

    def create_portal_session(self, *, customer: str, return_url: str) -> dict:
        return self._call(self.v1.billing_portal.sessions.create, customer=customer,
                          return_url=return_url)

    def retrieve_subscription(self, subscription_id: str) -> dict:
        return self._call(self.v1.subscriptions.retrieve, subscription_id)

    def modify_subscription(self, subscription_id: str, *, items: list[dict],
                            metadata: dict | None = None) -> dict:
        """Change, add or remove items (prorated); returns the subscription as it now is."""
        params: dict = {"items": items, "proration_behavior": "create_prorations"}
        if metadata:
            params["metadata"] = metadata
        return self._call(self.v1.subscriptions.update, subscription_id, **params)

    def cancel_subscription(self, subscription_id: str) -> dict:
        """End the subscription now; returns it (status `canceled`)."""
        return self._call(self.v1.subscriptions.cancel, subscription_id)

    def list_invoices(self, *, customer: str, limit: int) -> list[dict]:
        answer = self._call(self.v1.invoices.list, customer=customer, limit=limit)
        return list(answer.get("data") or [])

    def verify_event(self, payload: bytes, signature: str | None) -> dict:
        """The event in `payload` once its `Stripe-Signature` is proved; `WebhookRejected`
        otherwise (no secret configured counts as unprovable)."""
        if not self.webhook_secret:
            raise WebhookRejected("No webhook secret is configured.")
        if not signature:
            raise WebhookRejected("The Stripe-Signature header is missing.")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret,
                                                   tolerance=self.tolerance)
        except stripe.SignatureVerificationError as error:
            raise WebhookRejected(f"Signature check failed: {error.user_message or error}"
                                  ) from error
        except ValueError as error:
            raise WebhookRejected("The payload is not a Stripe event.") from error
        return _plain(event)


def gateway_from_config(config) -> StripeGateway:
    return StripeGateway(
        api_key=config.get("STRIPE_SECRET_KEY"),
        api_base=config["STRIPE_API_BASE"],
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET"),
        tolerance=config["STRIPE_WEBHOOK_TOLERANCE"],
    )


def current_gateway() -> StripeGateway:
    """The current app's gateway, built on first use."""
    from flask import current_app

    extensions = current_app.extensions
    if "chom_stripe" not in extensions:
        extensions["chom_stripe"] = gateway_from_config(current_app.config)
    return extensions["chom_stripe"]
