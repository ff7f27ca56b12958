"""Where Bridge may deliver to: the rules for an endpoint's URL and for the address it reaches.

An admin registers webhook and FHIR endpoints, and the dispatcher POSTs health data to them.
Left open, that lets anyone with the admin role point Bridge at the cloud metadata service
(169.254.169.254), at loopback or at the hospital's internal network. So an endpoint must be
HTTPS on a public address; receivers on loopback or a private network (the test suite, an
on-premises receiver) are allowed only by naming them in ``BRIDGE_ENDPOINT_ALLOWED_HOSTS``.

The URL is checked when it is registered, and the address actually connected to is checked again
at delivery (``bridge.adapters.transport``), because a name can resolve to a public
address today and to a private one tomorrow (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bridge.domain.errors import RuleViolation

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: host name, port -> the addresses it resolves to (socket.getaddrinfo in production)
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host name resolves to."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (no loopback, private, link-local, ...)."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1, 2002:7f00:1:: and 64:ff9b::7f00:1 reach the IPv4 address inside.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class DestinationPolicy:
    """The hosts an operator allows beyond the public internet, from one setting."""

    hosts: frozenset[str] = frozenset()  # host names, lower case
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str) -> DestinationPolicy:
        """``"receiver.local, 10.0.0.0/8, 127.0.0.1"``: names, addresses or networks.

        Raises ValueError naming an entry that is none of them.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip() for e in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _is_host_name(entry):
                raise ValueError(f"{entry!r} is neither a host name, an address nor a network")
            hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        """Whether the URL's host is named in the allowance (by name or as an address)."""
        host = host.lower().rstrip(".")
        if host in self.hosts:
            return True
        address = _address(host)
        return address is not None and any(address in n for n in self.networks)

    def address_allowed(self, host: str, address: str) -> bool:
        """Whether a connection for ``host`` may go to ``address``."""
        parsed = _address(address)
        if parsed is None:
            return False
        if is_public(parsed) or self.host_allowed(host):
            return True
        return any(parsed in n for n in self.networks)


def _is_host_name(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(c.isascii() and (c.isalnum() or c == "-") for c in label)
        for label in labels
    )


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_url(
    url: str | None, policy: DestinationPolicy, resolve: Resolver = system_resolver
) -> str:
    """The URL as given, if Bridge may deliver to it; else RuleViolation on ``url``."""

    def refuse(reason: str) -> RuleViolation:
        return RuleViolation(f"url {reason}", field="url")

    text = url or ""
    # urlsplit silently drops tabs and newlines, so a URL is judged as typed, before parsing.
    if any(c.isspace() or not c.isprintable() for c in text):
        raise refuse("must not contain spaces, line breaks or control characters")
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise refuse("must be an https URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise refuse("must not carry credentials; the webhook secret signs each message")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise refuse("has an invalid port") from None
    allowed = policy.host_allowed(host)
    if parts.scheme == "http" and not allowed:
        raise refuse("must be https (plain http only to hosts in BRIDGE_ENDPOINT_ALLOWED_HOSTS)")
    if allowed:
        return text
    literal = _address(host)
    if literal is not None:
        addresses: Iterable[str] = [str(literal)]
    elif not _is_host_name(host):
        raise refuse("has an invalid host name")
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            # Not in DNS (yet): nothing to judge now; delivery checks every address it reaches.
            addresses = []
    for address in addresses:
        if not policy.address_allowed(host, address):
            raise refuse(
                "points at a loopback, private, link-local or reserved address "
                "(allow it in BRIDGE_ENDPOINT_ALLOWED_HOSTS if that is intended)"
            )
    return text
