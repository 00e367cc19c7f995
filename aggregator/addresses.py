"""Which network addresses the aggregator may reach on a source's behalf (#16 items 4 and 5).

Pure: no DNS, no sockets. ``media.py`` resolves a host, asks :func:`refusal` about every
address it got and connects to one it checked; ``config.py`` asks :func:`is_loopback_host`
whether an unencrypted SMTP relay is on this machine.
"""

from __future__ import annotations

import ipaddress

# Cloud metadata services that answer on addresses outside the special ranges below.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack (link-local too)
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1), written as such."""
    name = host.strip().lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    address = _address(name)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def refusal(address: str) -> str | None:
    """Why a request to ``address`` (an IP address as text) is refused, or None when allowed.

    Refused: loopback, private (RFC 1918, unique-local), link-local, carrier-grade NAT,
    multicast, reserved and unspecified addresses, and cloud metadata services; an IPv6
    address that maps or embeds an IPv4 one is judged by that IPv4 address.
    """
    ip = _address(address)
    if ip is None:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return refusal(str(embedded))
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return f"{ip} is a {kind} address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return f"{ip} is a shared (carrier-grade NAT) address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


__all__ = ["METADATA_ADDRESSES", "is_loopback_host", "refusal"]
