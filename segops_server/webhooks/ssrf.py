"""The SSRF guard: which webhook URLs are accepted, and which addresses a delivery may reach.

A webhook URL is typed by a tenant and fetched by the server, from inside its network: without
this guard anyone able to create a webhook could make the server POST to its own admin ports,
the database, or a cloud metadata service that hands out credentials. So a URL must be https
and every address its host resolves to must be public. The check runs when a webhook is saved
and again before each delivery (a name can be pointed elsewhere later); the sender then
connects to exactly the addresses vetted here, never resolving the name a second time (DNS
rebinding). `SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS` (callers pass it as `allow_private`) lifts the
rule for local development and tests, and allows plain http.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from segops_server.core.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Refused whatever the installation allows: nothing legitimate is served there, and these
# addresses hand out the machine's cloud credentials.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)

# Written out rather than left to `is_private`/`is_global`, whose lists have changed between
# Python releases (3.11.7 calls 100.64/10, 192.0.0.9 and ::7f00:1 global). First match names
# the reason; `is_global` stays as a last backstop.
_REFUSED_V4 = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
        ("192.0.2.0/24", "reserved (documentation)"),
        ("192.88.99.0/24", "reserved (6to4 relay anycast)"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved (benchmarking)"),
        ("198.51.100.0/24", "reserved (documentation)"),
        ("203.0.113.0/24", "reserved (documentation)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # with 255.255.255.255, the broadcast address
    )
)
_REFUSED_V6 = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("100::/64", "reserved (discard-only)"),
        ("2001::/23", "reserved (IETF protocol assignments)"),
        ("2001:db8::/32", "reserved (documentation)"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
# IPv6 addresses that carry an IPv4 address, and where: (network, how to get the IPv4 out).
# A host could otherwise reach 127.0.0.1 as ::ffff:127.0.0.1 or 64:ff9b::7f00:1.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


@dataclass(frozen=True)
class Destination:
    """A vetted webhook URL: where to connect (the addresses) and what to ask for there."""

    scheme: str
    host: str  # as in the URL, lower case, IPv6 without brackets: the Host header and the TLS name
    port: int
    target: str  # path and query, what the request line asks for
    addresses: tuple[IPAddress, ...]


def address_refusal(address: IPAddress) -> str | None:
    """Why a delivery must not go to this address (e.g. "loopback"), or None for a public one."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded is not None:
            reason = address_refusal(embedded)
            return None if reason is None else f"IPv6 form of {_a(reason)} {reason} address ({embedded})"
        networks: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = _REFUSED_V6
    else:
        networks = _REFUSED_V4
    for network, reason in networks:
        if address in network:
            return reason
    return None if address.is_global else "non-public"


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return address.ipv4_mapped
    if address.sixtofour is not None:  # 2002:aabb:ccdd::/48
        return address.sixtofour
    if address.teredo is not None:  # 2001::/32: the client's address is the one reached
        return address.teredo[1]
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):  # 64:ff9b::a.b.c.d, ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" and not word.startswith("uni") else "a"


def _refuse(message: str) -> Invalid:
    return Invalid({"url": [message]})


_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")


def url_check(url: str, *, allow_private: bool) -> None:
    """Refuse (Invalid on `url`) a webhook URL that is malformed or not allowed.

    https only (http too when `allow_private`), a host, no user name or password (they would
    be sent to the receiver in the clear, and `https://trusted@evil` misleads a reader), any
    port. A host written as an IP address is checked here at once; a name is checked when it
    is resolved (`addresses_check`).
    """
    destination_parts(url, allow_private=allow_private)


def destination_parts(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """`url_check`, returning what it found: (scheme, host, port, target)."""
    if _CONTROL_OR_SPACE.search(url):
        raise _refuse("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(f"This is not a valid URL ({exc}).") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        allowed = "https or http" if allow_private else "https"
        raise _refuse(f"Webhook URLs must start with {allowed}://.")
    if "@" in parts.netloc:
        raise _refuse("Webhook URLs must not contain a user name or password.")
    host = parts.hostname or ""
    if not host:
        raise _refuse("The URL must include a host name.")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _refuse(f"The host name {host} is not a valid internationalized name.") from None
    literal = _ip_literal(host)
    if literal is not None and (not allow_private or literal in METADATA_ADDRESSES):
        _check_address(host, literal, literal=True)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    return parts.scheme, host, default_port if port is None else port, target


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # Names the resolver reads as IPv4 in the old forms (127.1, 2130706433, 0x7f.0.0.1).
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _check_address(host: str, address: IPAddress, *, literal: bool) -> None:
    reason = address_refusal(address)
    if reason is None:
        return
    where = f"{host} is" if literal else f"{host} resolves to {address},"
    raise _refuse(
        f"{where} {_a(reason)} {reason} address: webhooks are only sent to public internet addresses."
    )


def addresses_check(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Every address `host` resolves to (IPv4 and IPv6), refused if any one is not public.

    Any, not all: a name resolving to one public and one private address could be connected
    to either. The list returned is what the sender connects to. Cloud metadata addresses are
    refused even when `allow_private`.
    """
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise _refuse(f"The host name {host} could not be resolved ({exc}).") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _refuse(f"The host name {host} could not be resolved (no addresses).")
    for address in addresses:
        if not allow_private or address in METADATA_ADDRESSES:
            _check_address(host, address, literal=False)
    return addresses


def destination_check(url: str, *, allow_private: bool) -> Destination:
    """Both checks, at the time of saving a webhook or of sending to it: the URL, then its addresses."""
    scheme, host, port, target = destination_parts(url, allow_private=allow_private)
    addresses = addresses_check(host, port, allow_private=allow_private)
    return Destination(scheme=scheme, host=host, port=port, target=target, addresses=tuple(addresses))
