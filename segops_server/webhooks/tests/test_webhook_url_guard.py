"""Creating or changing a webhook refuses URLs a delivery must not reach (ssrf.py), with a 400 on `url`."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from segops_server.testing.factories import Team
from segops_server.webhooks import ssrf
from segops_server.webhooks.models import Webhook

URL = "/api/webhooks/"

REFUSED = [
    ("http://93.184.216.34/hook", "https://"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://user:pw@93.184.216.34/hook", "user name or password"),
    ("https://no-such-host.invalid/hook", "could not be resolved"),
]


def _create(team: Team, url: str) -> Any:
    return team.client("member").post(URL, {"url": url}, format="json")


@pytest.fixture
def private_urls_refused(settings: Any) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = False


@pytest.mark.usefixtures("private_urls_refused")
@pytest.mark.parametrize(("url", "words"), REFUSED)
def test_it_refuses_urls_that_are_not_public_https(team: Team, url: str, words: str) -> None:
    answer = _create(team, url)
    assert answer.status_code == 400, answer.content
    assert words in " ".join(answer.json()["url"])
    assert Webhook.objects.for_tenant(team.tenant).count() == 0


@pytest.mark.usefixtures("private_urls_refused")
def test_it_refuses_a_name_that_resolves_to_a_private_address(team: Team, monkeypatch: Any) -> None:
    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "hooks.example.com"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", resolve)
    answer = _create(team, "https://hooks.example.com/segops")
    assert answer.status_code == 400
    assert "hooks.example.com resolves to 127.0.0.1" in answer.json()["url"][0]


@pytest.mark.usefixtures("private_urls_refused")
def test_it_refuses_a_change_of_url_to_a_private_address(team: Team) -> None:
    created = _create(team, "https://93.184.216.34/hook")
    assert created.status_code == 201
    changed = team.client("member").patch(
        f"{URL}{created.json()['id']}/", {"url": "https://10.0.0.7/hook"}, format="json"
    )
    assert changed.status_code == 400
    assert "private" in changed.json()["url"][0]
    assert Webhook.objects.for_tenant(team.tenant).get().url == "https://93.184.216.34/hook"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8123/hook",
        "https://10.1.2.3/hook",
        "http://[::ffff:127.0.0.1]:8000/",
        "http://localhost/",
    ],
)
def test_the_installation_flag_allows_private_and_http_urls(team: Team, settings: Any, url: str) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    answer = _create(team, url)
    assert answer.status_code == 201, answer.content
    assert answer.json()["url"] == url


def test_the_flag_never_allows_cloud_metadata(team: Team, settings: Any) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    answer = _create(team, "http://169.254.169.254/latest/meta-data/")
    assert answer.status_code == 400
    assert "cloud metadata" in answer.json()["url"][0]
