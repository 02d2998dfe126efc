"""The official `segops` SDK from PyPI, unmodified, against the production server over HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests
import segops

from segops_server.testing.live import LiveServer, api_key_issue, live_database, live_server_start, sign_up

pytestmark = pytest.mark.live

SLUG = "sdk"


@dataclass
class Installation:
    server: LiveServer
    access: str
    secret_key: str

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.server.url}/api/explorer/{path}",
            params=params,
            headers={"Authorization": f"ApiKey {self.secret_key}"},
            timeout=10,
        )

    def user(self, user_id: str) -> requests.Response:
        return self.get(f"users/{quote(user_id, safe='')}/")


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    directory = tmp_path_factory.mktemp("sdk")
    with live_database(directory) as database_url:
        server = live_server_start(data_dir=directory / "data", database_url=database_url)
        try:
            access = sign_up(server, SLUG)
            yield Installation(server, access, api_key_issue(server, access, SLUG)["key"])
        finally:
            server.stop()


@pytest.fixture
def errors() -> list[BaseException]:
    return []


def test_it_stores_all_1000_events_the_sdk_sends_with_a_secret_key(
    installation: Installation, errors: list[BaseException]
) -> None:
    prefix = f"sk-{secrets.token_hex(3)}"
    users = [f"{prefix}-user-{n}" for n in range(10)]
    client = segops.SegOpsClient(installation.server.url, installation.secret_key, on_error=errors.append)
    for round_ in range(100):
        for user_id in users:
            if round_ % 10 == 9:
                client.identify(user_id=user_id, traits={"round": round_, "email": f"{user_id}@example.com"})
            else:
                client.track(user_id=user_id, event_type="page_viewed", payload={"round": round_})
    client.shutdown()

    assert errors == []
    listed = installation.get("users/", q=prefix, limit=200).json()
    assert listed["count"] == 10
    assert {u["user_id"]: u["event_count"] for u in listed["results"]} == dict.fromkeys(users, 100)
    profile = installation.user(users[3]).json()
    assert profile["properties"] == {"round": 99, "email": f"{users[3]}@example.com"}
    events = installation.get(f"users/{quote(users[3], safe='')}/events/", limit=1000).json()["results"]
    assert len(events) == 100
    assert sorted(e["payload"]["round"] for e in events) == list(range(100))


def _public_key(installation: Installation) -> dict[str, Any]:
    return api_key_issue(
        installation.server, installation.access, SLUG, type="public", require_signed_user_id=True
    )


def test_it_stores_events_of_a_signed_public_key_session_under_the_signed_user(
    installation: Installation, errors: list[BaseException]
) -> None:
    public = _public_key(installation)
    user_id = f"u-42-{secrets.token_hex(3)}"

    def get_user() -> segops.UserContext:
        return segops.UserContext(**segops.sign_user_id(public["hmac_secret"], user_id))

    client = segops.SegOpsClient(
        installation.server.url, public["key"], get_user=get_user, on_error=errors.append
    )
    for n in range(30):
        client.track(
            user_id="someone-else" if n % 2 else user_id, event_type="button_clicked", payload={"n": n}
        )
    client.identify(user_id="someone-else", traits={"plan": "pro"})
    client.shutdown()

    assert errors == []
    profile = installation.user(user_id).json()
    assert profile["event_count"] == 31
    assert profile["properties"] == {"plan": "pro"}
    assert installation.user("someone-else").status_code == 404


def test_it_stores_nothing_from_a_public_key_session_with_a_forged_signature(
    installation: Installation, errors: list[BaseException]
) -> None:
    public = _public_key(installation)
    user_id = f"u-forged-{secrets.token_hex(3)}"

    def get_user() -> segops.UserContext:
        return segops.UserContext(**segops.sign_user_id(secrets.token_hex(32), user_id))

    client = segops.SegOpsClient(
        installation.server.url, public["key"], get_user=get_user, on_error=errors.append
    )
    client.track(user_id=user_id, event_type="button_clicked")
    with pytest.raises(RuntimeError, match=r"session mint failed .* 403"):
        client.shutdown()  # the SDK's final flush raises what its background flushes would report

    assert installation.user(user_id).status_code == 404


def test_it_stores_an_anonymous_public_key_session_in_the_anonymous_space(
    installation: Installation, errors: list[BaseException]
) -> None:
    """A key that requires signed user ids still takes anonymous visitors, unsigned, as anon_<id>:
    never as the known user whose id the anonymous id names."""
    public = _public_key(installation)
    victim = f"victim-{secrets.token_hex(3)}"
    known = segops.SegOpsClient(installation.server.url, installation.secret_key, on_error=errors.append)
    known.identify(user_id=victim, traits={"plan": "pro"})
    known.shutdown()

    def get_user() -> segops.UserContext:
        return segops.UserContext(anonymous_id=victim)

    client = segops.SegOpsClient(
        installation.server.url, public["key"], get_user=get_user, on_error=errors.append
    )
    client.track(user_id=victim, event_type="order_placed")
    client.identify(user_id=victim, traits={"plan": "free"})
    client.shutdown()

    assert errors == []
    assert installation.user(victim).json()["properties"] == {"plan": "pro"}
    assert installation.user(victim).json()["event_count"] == 1
    anonymous = installation.user(f"anon_{victim}").json()
    assert (anonymous["event_count"], anonymous["properties"]) == (2, {"plan": "free"})
