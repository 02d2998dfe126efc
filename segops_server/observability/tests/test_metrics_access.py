"""GET /metrics: allowed from SEGOPS_METRICS_ALLOW_IPS or with the bearer token, else 404."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from segops_server.observability.access import allowed_networks

TOKEN = "metrics-token-0123456789abcdef"
OUTSIDE = "203.0.113.9"


def _get(**extra: str) -> tuple[int, str]:
    response = Client().get("/metrics", **extra)  # type: ignore[arg-type]
    return response.status_code, response.content.decode()


def test_it_answers_loopback_in_the_prometheus_text_format(db: None) -> None:
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    assert "# TYPE segops_http_requests_total counter" in response.content.decode()


@pytest.mark.parametrize("address", ["::1", "::ffff:127.0.0.1"])
def test_it_answers_loopback_over_ipv6_too(db: None, address: str) -> None:
    assert _get(REMOTE_ADDR=address)[0] == 200


def test_it_is_a_plain_404_to_anyone_else(db: None) -> None:
    status, body = _get(REMOTE_ADDR=OUTSIDE)
    assert status == 404
    assert body == '{"detail": "Not found."}'


def test_it_is_404_to_a_post_from_outside_and_405_from_inside(db: None) -> None:
    assert Client().post("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 404
    assert Client().post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


@override_settings(SEGOPS_METRICS_TOKEN=TOKEN)
def test_it_answers_the_bearer_token_from_anywhere(db: None) -> None:
    assert _get(REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0] == 200
    assert _get(REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"bearer {TOKEN}")[0] == 200


@override_settings(SEGOPS_METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, f"ApiKey {TOKEN}"],
)
def test_it_refuses_anything_but_the_exact_token(db: None, header: str) -> None:
    assert _get(REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=header)[0] == 404


def test_it_has_no_token_unless_one_is_set(db: None) -> None:
    assert _get(REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")[0] == 404


def test_it_believes_x_forwarded_for_from_a_trusted_proxy(db: None) -> None:
    # The default trusted proxy is 127.0.0.1: what it says about the client decides.
    assert _get(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=OUTSIDE)[0] == 404
    assert _get(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")[0] == 200


def test_it_ignores_what_a_client_writes_in_x_forwarded_for(db: None) -> None:
    # Sent straight to the server: the header is the client's own claim.
    assert _get(REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="127.0.0.1")[0] == 404
    # Through the proxy: the client's own entry sits left of the one the proxy added.
    assert _get(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"127.0.0.1, {OUTSIDE}")[0] == 404


def test_it_walks_past_a_chain_of_trusted_proxies(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGOPS_FORWARDED_ALLOW_IPS", "127.0.0.1,10.0.0.2")
    assert _get(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{OUTSIDE}, 10.0.0.2")[0] == 404
    assert _get(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 10.0.0.2")[0] == 200


def test_it_believes_one_hop_only_when_every_peer_is_trusted(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGOPS_FORWARDED_ALLOW_IPS", "*")
    assert _get(REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR=f"127.0.0.1, {OUTSIDE}")[0] == 404
    assert _get(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="127.0.0.1")[0] == 200


@override_settings(SEGOPS_METRICS_ALLOW_IPS=["10.0.0.0/8", "192.0.2.7"])
def test_it_allows_the_configured_networks_only(db: None) -> None:
    assert _get(REMOTE_ADDR="10.20.30.40")[0] == 200
    assert _get(REMOTE_ADDR="192.0.2.7")[0] == 200
    assert _get(REMOTE_ADDR="127.0.0.1")[0] == 404  # the default is replaced, not extended
    assert _get(REMOTE_ADDR="not-an-address")[0] == 404


@override_settings(SEGOPS_METRICS_ALLOW_IPS=["127.0.0.1", "localhost"])
def test_it_refuses_to_start_on_a_malformed_allow_list() -> None:
    with pytest.raises(ImproperlyConfigured, match="SEGOPS_METRICS_ALLOW_IPS"):
        allowed_networks()


def test_it_is_not_in_the_openapi_schema(db: None) -> None:
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    assert not [path for path in schema["paths"] if "metrics" in path]
