"""The strict host-name grammar."""

import pytest

from chom.services.domains import InvalidDomain, normalize_domain


@pytest.mark.parametrize("raw, expected", [
    ("EXAMPLE.com", "example.com"),
    ("  www.example.com  ", "www.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("a.b.c.d.example.org", "a.b.c.d.example.org"),
    ("1a.example.io", "1a.example.io"),
    ("example.xn--p1ai", "example.xn--p1ai"),
])
def test_accepted(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize("raw", [
    "example", "*.example.com", "https://example.com", "example.com:443", "10.0.0.1", "::1",
    "exa mple.com", "ex_ample.com", "-a.example.com", "a-.example.com", "example.c0m",
    "example.1", "a..b.com", ".example.com", "x" * 64 + ".com", "xn--zz.example.com",
    None, 42, "",
])
def test_rejected(raw):
    with pytest.raises(InvalidDomain):
        normalize_domain(raw)


def test_length_limit_is_253():
    label = "a" * 63
    assert normalize_domain(".".join([label, label, label, "a" * 57, "com"]))
    with pytest.raises(InvalidDomain):
        normalize_domain(".".join([label, label, label, "a" * 59, "com"]))
