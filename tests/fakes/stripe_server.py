"""A FAKE Stripe API: a local HTTP server for the endpoints CHOM calls, with Stripe's documented
request encoding (form, bracketed keys), response shapes (API version 2025-10 and later: the
billing period lives on subscription items, an invoice names its subscription under
`parent.subscription_details`) and error bodies. The real `stripe` library talks to it.

It also plays Stripe's side for tests: completing a checkout, changing a subscription's status,
issuing invoices, and signing webhook events exactly as Stripe does
(`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256(secret, "<t>.<payload>")>`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2025-10-29.clover"
PERIOD = 30 * 24 * 3600


def parse_form(body: str) -> dict:
    """Stripe's form encoding (`items[0][price]=p&metadata[k]=v`) back into nested values."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    """Dicts keyed 0..n-1 are lists."""
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": {
            "type": "invalid_request_error", "message": message, "code": code, "param": param}}


class FakeStripe:
    """The fake's state and Stripe's side of each call."""

    def __init__(self, api_key: str, webhook_secret: str) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.base_url = ""

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self.ids):06d}"

    def _price(self, price_id: str) -> dict:
        return {"id": price_id, "object": "price", "currency": "usd", "active": True,
                "product": f"prod_{price_id}", "unit_amount": 0, "type": "recurring",
                "recurring": {"interval": "month", "interval_count": 1}}

    def _item(self, subscription_id: str, price: str, metadata: dict | None) -> dict:
        now = int(time.time())
        return {"id": self._id("si"), "object": "subscription_item", "created": now,
                "subscription": subscription_id, "price": self._price(price), "quantity": 1,
                "metadata": dict(metadata or {}), "current_period_start": now,
                "current_period_end": now + PERIOD}

    def _sync_items(self, subscription: dict) -> None:
        subscription["items"]["total_count"] = len(subscription["items"]["data"])

    # --- endpoints ------------------------------------------------------------------------

    def create_customer(self, params: dict) -> dict:
        customer = {"id": self._id("cus"), "object": "customer", "created": int(time.time()),
                    "email": params.get("email"), "name": params.get("name"),
                    "metadata": params.get("metadata") or {}, "livemode": False}
        self.customers[customer["id"]] = customer
        return customer

    def _customer(self, customer_id: str | None) -> dict:
        if customer_id not in self.customers:
            raise StripeError(404, f"No such customer: '{customer_id}'", code="resource_missing",
                              param="customer")
        return self.customers[customer_id]

    def create_checkout_session(self, params: dict) -> dict:
        self._customer(params.get("customer"))
        if params.get("mode") != "subscription" or not params.get("line_items"):
            raise StripeError(400, "mode=subscription with line_items is required here",
                              param="line_items")
        session_id = self._id("cs")
        session = {"id": session_id, "object": "checkout.session", "mode": "subscription",
                   "customer": params["customer"], "status": "open",
                   "payment_status": "unpaid", "subscription": None,
                   "url": f"{self.base_url}/checkout/pay/{session_id}",
                   "success_url": params.get("success_url"),
                   "cancel_url": params.get("cancel_url"),
                   "metadata": params.get("metadata") or {}, "created": int(time.time()),
                   "expires_at": int(time.time()) + 86400, "livemode": False,
                   "line_items_requested": params["line_items"],
                   "subscription_data_requested": params.get("subscription_data") or {}}
        self.sessions[session_id] = session
        return {k: v for k, v in session.items() if not k.endswith("_requested")}

    def create_portal_session(self, params: dict) -> dict:
        self._customer(params.get("customer"))
        portal_id = self._id("bps")
        portal = {"id": portal_id, "object": "billing_portal.session",
                  "customer": params["customer"], "return_url": params.get("return_url"),
                  "url": f"{self.base_url}/portal/{portal_id}", "created": int(time.time()),
                  "livemode": False}
        self.portal_sessions[portal_id] = portal
        return portal

    def retrieve_subscription(self, subscription_id: str) -> dict:
        if subscription_id not in self.subscriptions:
            raise StripeError(404, f"No such subscription: '{subscription_id}'",
                              code="resource_missing", param="id")
        return self.subscriptions[subscription_id]

    def update_subscription(self, subscription_id: str, params: dict) -> dict:
        subscription = self.retrieve_subscription(subscription_id)
        items = subscription["items"]["data"]
        for change in params.get("items") or []:
            if "id" in change:
                item = next((i for i in items if i["id"] == change["id"]), None)
                if item is None:
                    raise StripeError(400, f"No such subscription item: '{change['id']}'",
                                      code="resource_missing", param="items")
                if change.get("deleted") == "true":
                    items.remove(item)
                    continue
                if "price" in change:
                    item["price"] = self._price(change["price"])
                item["metadata"].update(change.get("metadata") or {})
            else:
                items.append(self._item(subscription_id, change["price"], change.get("metadata")))
        for key, value in (params.get("metadata") or {}).items():
            if value == "":
                subscription["metadata"].pop(key, None)
            else:
                subscription["metadata"][key] = value
        self._sync_items(subscription)
        return subscription

    def cancel_subscription(self, subscription_id: str) -> dict:
        subscription = self.retrieve_subscription(subscription_id)
        subscription["status"] = "canceled"
        subscription["canceled_at"] = subscription["ended_at"] = int(time.time())
        return subscription

    def list_invoices(self, query: dict) -> dict:
        customer = query.get("customer")
        found = sorted((i for i in self.invoices.values() if i["customer"] == customer),
                       key=lambda i: i["created"], reverse=True)
        limit = int(query.get("limit", 10))
        return {"object": "list", "url": "/v1/invoices", "has_more": len(found) > limit,
                "data": found[:limit]}

    # --- Stripe's side, for tests ---------------------------------------------------------

    def complete_checkout(self, session_id: str, *, status: str = "active") -> dict:
        """The customer paid on the checkout page: the subscription exists now."""
        with self.lock:
            session = self.sessions[session_id]
            subscription_id = self._id("sub")
            now = int(time.time())
            subscription = {
                "id": subscription_id, "object": "subscription", "customer": session["customer"],
                "status": status, "created": now, "start_date": now, "livemode": False,
                "cancel_at_period_end": False, "canceled_at": None, "ended_at": None,
                "metadata": dict(session["subscription_data_requested"].get("metadata") or {}),
                "items": {"object": "list", "data": [], "has_more": False,
                          "url": f"/v1/subscription_items?subscription={subscription_id}"},
            }
            for line in session["line_items_requested"]:
                subscription["items"]["data"].append(
                    self._item(subscription_id, line["price"], None))
            self._sync_items(subscription)
            self.subscriptions[subscription_id] = subscription
            session.update(status="complete", payment_status="paid",
                           subscription=subscription_id)
            return json.loads(json.dumps(subscription))

    def set_status(self, subscription_id: str, status: str) -> dict:
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            subscription["status"] = status
            if status == "canceled":
                subscription["canceled_at"] = subscription["ended_at"] = int(time.time())
            return json.loads(json.dumps(subscription))

    def add_invoice(self, subscription_id: str, *, amount: int, status: str = "paid") -> dict:
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            now = int(time.time())
            invoice_id = self._id("in")
            invoice = {
                "id": invoice_id, "object": "invoice", "customer": subscription["customer"],
                "number": f"CHOM-{len(self.invoices) + 1:04d}", "status": status,
                "currency": "usd", "amount_due": amount,
                "amount_paid": amount if status == "paid" else 0,
                "created": now + len(self.invoices), "period_start": now,
                "period_end": now + PERIOD, "livemode": False,
                "hosted_invoice_url": f"{self.base_url}/invoices/{invoice_id}",
                "invoice_pdf": f"{self.base_url}/invoices/{invoice_id}.pdf",
                "parent": {"type": "subscription_details", "quote_details": None,
                           "subscription_details": {"subscription": subscription_id,
                                                    "metadata": subscription["metadata"]}},
            }
            self.invoices[invoice_id] = invoice
            return invoice

    def event(self, type: str, obj: dict, *, event_id: str | None = None) -> dict:
        return {"id": event_id or self._id("evt"), "object": "event", "api_version": API_VERSION,
                "created": int(time.time()), "type": type, "data": {"object": obj},
                "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}}

    def sign(self, payload: bytes, *, secret: str | None = None,
             timestamp: int | None = None) -> str:
        """The `Stripe-Signature` header Stripe would send for `payload`."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        signed = f"{timestamp}.".encode() + payload
        digest = hmac.new((secret or self.webhook_secret).encode(), signed,
                          hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"


ROUTES = (
    ("POST", re.compile(r"^/v1/customers$"), lambda f, m, p, q: f.create_customer(p)),
    ("POST", re.compile(r"^/v1/checkout/sessions$"),
     lambda f, m, p, q: f.create_checkout_session(p)),
    ("POST", re.compile(r"^/v1/billing_portal/sessions$"),
     lambda f, m, p, q: f.create_portal_session(p)),
    ("GET", re.compile(r"^/v1/subscriptions/([^/]+)$"),
     lambda f, m, p, q: f.retrieve_subscription(m.group(1))),
    ("POST", re.compile(r"^/v1/subscriptions/([^/]+)$"),
     lambda f, m, p, q: f.update_subscription(m.group(1), p)),
    ("DELETE", re.compile(r"^/v1/subscriptions/([^/]+)$"),
     lambda f, m, p, q: f.cancel_subscription(m.group(1))),
    ("GET", re.compile(r"^/v1/invoices$"), lambda f, m, p, q: f.list_invoices(q)),
)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{next(self.fake.ids)}")
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        params = parse_form(self.rfile.read(length).decode()) if length else {}
        query = dict(parse_qsl(url.query))
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            error = StripeError(401, "Invalid API Key provided.")
            self._answer(error.status, error.body)
            return
        for route_method, pattern, action in ROUTES:
            match = pattern.match(url.path)
            if match and route_method == method:
                try:
                    with fake.lock:
                        fake.requests.append((method, url.path))
                        body = json.loads(json.dumps(action(fake, match, params, query)))
                except StripeError as error:
                    self._answer(error.status, error.body)
                    return
                self._answer(200, body)
                return
        error = StripeError(404, f"Unrecognized request URL ({method}: {url.path}).")
        self._answer(error.status, error.body)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")


class StripeServer:
    """The fake on 127.0.0.1 and a free port, served by a thread until `stop()`."""

    def __init__(self, api_key: str = "sk_test_chom_fake",
                 webhook_secret: str = "whsec_chom_fake") -> None:
        self.fake = FakeStripe(api_key, webhook_secret)
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.fake.base_url = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="fake-stripe")

    def start(self) -> StripeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
