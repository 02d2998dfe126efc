"""Who may read /metrics: an address in SEGOPS_METRICS_ALLOW_IPS, or the SEGOPS_METRICS_TOKEN bearer.

Everyone else gets the same 404 as a path that does not exist (not 403): the series name
routes, tenants' activity and the installation's load, and an outsider should not learn that
there is anything here to get at.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from segops_server.core.proxy import client_address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"SEGOPS_METRICS_ALLOW_IPS: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def allowed_networks() -> tuple[Network, ...]:
    """The networks of SEGOPS_METRICS_ALLOW_IPS (ImproperlyConfigured on a malformed entry)."""
    return _networks(tuple(settings.SEGOPS_METRICS_ALLOW_IPS))


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # 127.0.0.1 as seen on a dual-stack socket
    return address


def _token_matches(request: HttpRequest) -> bool:
    expected = settings.SEGOPS_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not given.strip():
        return False
    # Digests of equal length, compared in constant time: neither the token nor its length leaks.
    return hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def metrics_access_allowed(request: HttpRequest) -> bool:
    if _token_matches(request):
        return True
    address = _address(client_address(request))
    return address is not None and any(address in network for network in allowed_networks())
