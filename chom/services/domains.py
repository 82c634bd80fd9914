"""The strict host-name grammar every domain passes before it enters anything."""

from __future__ import annotations

import ipaddress
import re

import idna

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TOP_LABEL = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


class InvalidDomain(ValueError):
    pass


def normalize_domain(raw: str) -> str:
    """Return the domain in lowercase ASCII (punycode for internationalised names).

    Raises `InvalidDomain` for anything that is not a fully qualified host name: a wildcard,
    an IP address, a port, a scheme, a path, a single label, or a label out of grammar.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidDomain("A domain is required.")
    candidate = raw.strip().lower().rstrip(".")
    if any(ch in candidate for ch in "/:*@ \t?#[]\\"):
        raise InvalidDomain("Give a bare host name: no scheme, port, path or wildcard.")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        pass
    else:
        raise InvalidDomain("An IP address is not a domain.")
    if not candidate.isascii():
        try:
            candidate = idna.encode(candidate, uts46=True).decode("ascii")
        except idna.IDNAError as error:
            raise InvalidDomain(f"Not a valid internationalised domain: {error}") from error
    if len(candidate) > 253:
        raise InvalidDomain("A domain is 253 characters at most.")
    labels = candidate.split(".")
    if len(labels) < 2:
        raise InvalidDomain("A domain has at least two labels (example.com).")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidDomain(
                f"Label {label!r} must be 1-63 of a-z, 0-9 and '-', "
                "not starting or ending with '-'."
            )
    if not _TOP_LABEL.match(labels[-1]):
        raise InvalidDomain("The top-level label must be alphabetic.")
    if candidate.startswith("xn--") or ".xn--" in candidate:
        try:
            idna.decode(candidate)
        except idna.IDNAError as error:
            raise InvalidDomain(f"Not a valid punycode domain: {error}") from error
    return candidate


def is_server_address(raw: str) -> bool:
    """An address a VPS is reached at: an IP address, or a host name of this grammar's labels
    (a single label too, for names the control plane's resolver knows)."""
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        labels = raw.lower().rstrip(".").split(".")
        return len(raw) <= 253 and all(_LABEL.match(label) for label in labels)
    return True
