"""Outgoing webhooks: HMAC-signed JSON POSTs to addresses our customers give us.

The signature follows the scheme Stripe's and Standard Webhooks' receivers know: header
`Chom-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the channel secret>`,
so a receiver checks both who sent it and when (and refuses replays outside its window).

A customer's URL is a request our servers make on their behalf: unless configured otherwise,
addresses that are not public (loopback, private, link-local, ...) are refused, both when the
URL is saved and again when it is called (a name may resolve differently later).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import requests

SIGNATURE_HEADER = "Chom-Signature"
TIMEOUT = (3.05, 10)

_session = requests.Session()


class UnsafeDestination(ValueError):
    """The URL is not one CHOM may call (scheme, or an address that is not public)."""


class DeliveryFailed(RuntimeError):
    """The receiver was not reached or did not answer 2xx; the job retries."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Chom-Signature` header value for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def check_destination(url: str, *, allow_private: bool) -> None:
    """Raise `UnsafeDestination` unless `url` is http(s) to a host CHOM may call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("Only http and https URLs with a host name are accepted.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeDestination(f"The host {parts.hostname} does not resolve.") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UnsafeDestination(f"The host {parts.hostname} is not a public address.")


def post(url: str, body: bytes, headers: dict[str, str], *, secret: str,
         allow_private: bool) -> int:
    """POST `body` signed with `secret`; returns the status. Raises `DeliveryFailed`."""
    check_destination(url, allow_private=allow_private)
    try:
        response = _session.post(
            url, data=body, timeout=TIMEOUT, allow_redirects=False,
            headers={**headers, "Content-Type": "application/json",
                     SIGNATURE_HEADER: sign(secret, body)})
    except requests.RequestException as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"the receiver answered {response.status_code}")
    return response.status_code
