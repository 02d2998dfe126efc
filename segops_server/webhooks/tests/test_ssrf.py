"""The SSRF guard: https URLs whose every address is public, unless private ones are allowed."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from segops_server.core.errors import Invalid
from segops_server.webhooks import ssrf
from segops_server.webhooks.ssrf import address_refusal, addresses_check, destination_check, url_check

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.1.1", "link-local"),
    ("169.254.169.254", "cloud metadata"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.0.9", "reserved (IETF protocol assignments)"),
    ("198.18.0.1", "reserved (benchmarking)"),
    ("203.0.113.5", "reserved (documentation)"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("fd00:ec2::254", "cloud metadata"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "reserved (documentation)"),
    ("100::1", "reserved (discard-only)"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "IPv6 form of a loopback address (127.0.0.1)"),
    ("::ffff:10.0.0.1", "IPv6 form of a private address (10.0.0.1)"),
    ("::ffff:169.254.169.254", "IPv6 form of a cloud metadata address (169.254.169.254)"),
    ("::127.0.0.1", "IPv6 form of a loopback address (127.0.0.1)"),
    ("64:ff9b::7f00:1", "IPv6 form of a loopback address (127.0.0.1)"),
    ("2002:c0a8:0101::1", "IPv6 form of a private address (192.168.1.1)"),
    # Teredo: the client's address is stored inverted; this one is 127.0.0.1.
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "IPv6 form of a loopback address (127.0.0.1)"),
]
PUBLIC = [
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:0808:0808::1",
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_it_names_why_an_address_is_refused(address: str, reason: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_it_accepts_public_addresses(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def _field_message(excinfo: pytest.ExceptionInfo[Invalid]) -> str:
    detail = excinfo.value.detail
    assert isinstance(detail, dict)
    assert list(detail) == ["url"]
    [message] = detail["url"]
    return str(message)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/hook", "must start with https://"),
        ("ftp://example.com/hook", "must start with https://"),
        ("example.com/hook", "must start with https://"),
        ("https:///hook", "must include a host"),
        ("https://user:pass@example.com/hook", "user name or password"),
        ("https://user@example.com/hook", "user name or password"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://[::1/", "not a valid URL"),
        ("https://exa mple.com/", "spaces or control characters"),
        ("https://example.com/\r\nX: 1", "spaces or control characters"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://[::1]:8443/hook", "::1 is a loopback address"),
        ("https://[::ffff:127.0.0.1]/hook", "an IPv6 form of a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("https://2130706433/", "2130706433 is a loopback address"),
        ("https://0x7f.1/", "a loopback address"),
        ("https://10.0.0.1:8080/", "a private address"),
    ],
)
def test_it_refuses_urls_that_are_malformed_or_not_allowed(url: str, message: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        url_check(url, allow_private=False)
    assert message in _field_message(excinfo)


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "https://hooks.example.com:8443/a?b=c", "HTTPS://Example.COM"]
)
def test_it_accepts_https_urls_with_a_public_or_named_host(url: str) -> None:
    url_check(url, allow_private=False)


def test_it_allows_http_and_private_literals_only_with_the_flag() -> None:
    for url in ("http://127.0.0.1:8000/hook", "https://10.0.0.1/", "http://[::1]/"):
        url_check(url, allow_private=True)
    with pytest.raises(Invalid):
        url_check("https://user:pw@127.0.0.1/", allow_private=True)
    with pytest.raises(Invalid, match="cloud metadata"):
        url_check("http://169.254.169.254/", allow_private=True)


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        found = []
        for address in addresses:
            if ":" in address:
                found.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                found.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return found

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", fake)


def test_it_refuses_a_name_that_resolves_to_loopback_unless_allowed() -> None:
    with pytest.raises(Invalid) as excinfo:
        addresses_check("localhost", 443, allow_private=False)
    assert "localhost resolves to" in _field_message(excinfo)
    assert "loopback" in _field_message(excinfo)
    assert ipaddress.ip_address("127.0.0.1") in addresses_check("localhost", 443, allow_private=True)


def test_it_refuses_a_name_if_any_of_its_addresses_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "fd00::1")
    with pytest.raises(Invalid) as excinfo:
        addresses_check("hooks.example.com", 443, allow_private=False)
    assert _field_message(excinfo) == (
        "hooks.example.com resolves to fd00::1, a unique-local address: "
        "webhooks are only sent to public internet addresses."
    )


def test_it_returns_every_vetted_address_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.215.14", "93.184.215.14", "fe80::1%eth0")
    assert addresses_check("h.example", 443, allow_private=True) == [
        ipaddress.ip_address("93.184.215.14"),
        ipaddress.ip_address("fe80::1"),
    ]


def test_it_refuses_cloud_metadata_even_when_private_addresses_are_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving_to(monkeypatch, "169.254.169.254")
    with pytest.raises(Invalid, match="cloud metadata"):
        addresses_check("metadata.internal", 80, allow_private=True)


def test_it_refuses_a_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", fail)
    with pytest.raises(Invalid) as excinfo:
        addresses_check("nowhere.invalid", 443, allow_private=True)
    assert _field_message(excinfo).startswith("The host name nowhere.invalid could not be resolved")


def test_it_vets_a_whole_destination(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.215.14")
    destination = destination_check("https://Hooks.Example.com/in?x=1#frag", allow_private=False)
    assert (destination.scheme, destination.host, destination.port, destination.target) == (
        "https",
        "hooks.example.com",
        443,
        "/in?x=1",
    )
    assert destination.addresses == (ipaddress.ip_address("93.184.215.14"),)
    assert destination_check("http://h.example:8080", allow_private=True).target == "/"


def test_it_resolves_and_sends_internationalized_names_in_their_ascii_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving_to(monkeypatch, "93.184.215.14")
    assert destination_check("https://bücher.example/", allow_private=False).host == "xn--bcher-kva.example"
    with pytest.raises(Invalid, match="not a valid internationalized name"):
        url_check("https://" + "ü" * 70 + ".example/", allow_private=False)
