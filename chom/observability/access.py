"""Who may scrape: `METRICS_IP_WHITELIST`, and `X-Forwarded-For` only from trusted proxies.

Both settings are comma-separated IP addresses and CIDR networks, IPv4 or IPv6
(`127.0.0.1, ::1, 10.0.0.0/8`). The client is the direct peer (`REMOTE_ADDR`), unless that peer
is one of `CHOM_TRUSTED_PROXIES`: then it is the right-most address of `X-Forwarded-For` that
is not itself a trusted proxy (each proxy appends the address it received from, so everything
left of the last untrusted hop may have been written by the client and is ignored).

This is applied to the scrape check only, not app-wide: werkzeug's `ProxyFix` trusts a fixed
number of hops rather than a set of networks, and rewriting `remote_addr` for every request
would silently change the rate limiter's and audit log's idea of the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(value: str | Iterable[str] | None, setting: str) -> tuple[Network, ...]:
    """`"127.0.0.1, 10.0.0.0/8, ::1"` → networks; a bad entry fails loudly at start-up."""
    if value is None:
        return ()
    entries = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as error:
            raise ValueError(
                f"{setting}: {entry!r} is not an IP address or CIDR network"
            ) from error
    return tuple(networks)


def parse_address(value: str | None) -> Address | None:
    """An address, IPv4-mapped IPv6 (`::ffff:10.0.0.1`) unwrapped; None when not one."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(
    remote_addr: str | None,
    forwarded_for: Iterable[str],
    trusted_proxies: tuple[Network, ...],
) -> Address | None:
    """The scraping client's address, or None when it cannot be told (then: refuse)."""
    peer = parse_address(remote_addr)
    if peer is None or not trusted_proxies or not _within(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    if not hops:
        return peer  # the trusted proxy itself is scraping
    address = None
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return None  # a garbled hop: refuse rather than guess
        if not _within(address, trusted_proxies):
            return address
    return address  # every hop is a trusted proxy: the left-most is the origin


class ScrapeAccess:
    """The parsed settings, and the one question asked per scrape."""

    def __init__(self, whitelist: str | Iterable[str] | None,
                 trusted_proxies: str | Iterable[str] | None) -> None:
        self.whitelist = parse_networks(whitelist, "METRICS_IP_WHITELIST")
        self.trusted_proxies = parse_networks(trusted_proxies, "CHOM_TRUSTED_PROXIES")

    @classmethod
    def from_config(cls, config) -> ScrapeAccess:
        return cls(config.get("METRICS_IP_WHITELIST"), config.get("CHOM_TRUSTED_PROXIES"))

    def client(self, request) -> Address | None:
        return client_address(
            request.remote_addr,
            request.headers.getlist("X-Forwarded-For"),
            self.trusted_proxies,
        )

    def allows(self, request) -> bool:
        address = self.client(request)
        return address is not None and _within(address, self.whitelist)
