"""Who may scrape: the whitelist and the trusted-proxy rule, without an app."""

import ipaddress

import pytest

from chom.observability.access import ScrapeAccess, client_address, parse_networks


def ip(value):
    return ipaddress.ip_address(value)


def test_parse_networks_takes_ips_and_cidrs_of_both_families():
    networks = parse_networks(" 127.0.0.1, 10.0.0.0/8 ,::1, 2001:db8::/32,, ", "X")
    assert [str(n) for n in networks] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "2001:db8::/32"]
    assert parse_networks("", "X") == () and parse_networks(None, "X") == ()
    assert parse_networks(["192.168.1.7/24"], "X")[0] == ipaddress.ip_network("192.168.1.0/24")


@pytest.mark.parametrize("bad", ["localhost", "10.0.0.0/33", "1.2.3", "*"])
def test_a_bad_entry_fails_at_start_up_naming_the_setting(bad):
    with pytest.raises(ValueError, match="METRICS_IP_WHITELIST"):
        ScrapeAccess(f"127.0.0.1,{bad}", "")


def test_forwarded_for_is_ignored_without_trusted_proxies():
    assert client_address("127.0.0.1", ["10.9.9.9"], ()) == ip("127.0.0.1")


def test_forwarded_for_is_ignored_from_an_untrusted_peer():
    trusted = parse_networks("10.0.0.0/8", "X")
    assert client_address("192.0.2.1", ["198.51.100.7"], trusted) == ip("192.0.2.1")


def test_right_most_untrusted_hop_is_the_client():
    trusted = parse_networks("10.0.0.0/8", "X")
    # The client wrote "198.51.100.7" itself; the proxy appended the address it saw.
    assert client_address("10.0.0.2", ["198.51.100.7, 203.0.113.9"], trusted) == ip("203.0.113.9")
    # Two trusted proxies in a row, and the header split over two lines.
    assert client_address("10.0.0.2", ["203.0.113.9", "10.0.0.3"], trusted) == ip("203.0.113.9")
    # Every hop trusted: the left-most is where the request came from.
    assert client_address("10.0.0.2", ["10.1.1.1, 10.0.0.3"], trusted) == ip("10.1.1.1")
    # No header: the proxy itself.
    assert client_address("10.0.0.2", [], trusted) == ip("10.0.0.2")


def test_garbled_hops_and_peers_give_no_client():
    trusted = parse_networks("10.0.0.0/8", "X")
    assert client_address("10.0.0.2", ["not-an-ip"], trusted) is None
    assert client_address(None, [], trusted) is None
    assert client_address("", [], ()) is None


def test_ipv4_mapped_ipv6_peer_counts_as_its_ipv4_address():
    assert client_address("::ffff:127.0.0.1", [], ()) == ip("127.0.0.1")
