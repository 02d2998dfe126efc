"""The official admin SDK's `identity.alias` and `identity.merge` against a real server (the
set-up of test_sdk_admin.py: sign up, a key, events, segments), end to end: two ids' orders
combined make a repeat buyer once merged, and after a compute by the worker process the delivery
API answers for the surviving id."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from segops_admin import SegOpsAdmin, SegOpsApiError

from segops_server.testing.live import api_key_issue
from tests import test_sdk_admin as sdk
from tests.test_sdk_admin import SLUG, World

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sdk.live_world(tmp_path_factory.mktemp("sdk-admin-identity")) as built:
        yield built


def _track(world: World, user_id: str, event_type: str) -> None:
    response = requests.post(
        f"{world.server.url}/api/ingestion/track/",
        json={"user_id": user_id, "event_type": event_type},
        headers={"Authorization": f"ApiKey {world.key}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text


def _segments_of(world: World, user_id: str) -> list[str]:
    return [s["name"] for s in world.admin.segments.membership(user_id)["segments"]]


def test_alias_is_first_identify_wins(world: World) -> None:
    first = world.admin.identity.alias("sdk-visitor", "buyer-1")
    assert first == {"aliased": True, "user_id": "buyer-1"}

    again = world.admin.identity.alias("sdk-visitor", "one-timer")
    assert again == {"aliased": False, "user_id": "buyer-1"}

    assert "anon_sdk-visitor" in world.admin.users.get("buyer-1")["anonymous_ids"]


def _recompute(world: World) -> None:
    """Recompute through the SDK and wait for the server's worker process to finish it."""
    segment_id = world.segment["id"]
    before = world.admin.segments.get(segment_id)["last_computed_at"]
    assert world.admin.segments.recompute(segment_id)["status"] == "queued"
    deadline = time.monotonic() + sdk.COMPUTE_TIMEOUT_SECONDS
    current = world.admin.segments.get(segment_id)
    while (
        current["status"] != "computed" or current["last_computed_at"] == before
    ) and time.monotonic() < deadline:
        time.sleep(0.25)
        current = world.admin.segments.get(segment_id)
    assert current["status"] == "computed", f"{current}\n{world.server.output()[-4000:]}"
    assert current["last_computed_at"] != before


def test_merge_combines_two_ids_and_the_delivery_api_answers_for_the_survivor(world: World) -> None:
    # one-timer has one order; a second device's id has another: neither is a repeat buyer alone.
    _track(world, "one-timer-phone", "order_placed")
    _recompute(world)
    assert _segments_of(world, "one-timer") == []
    assert _segments_of(world, "buyer-1") == ["Repeat buyers"]

    merged = world.admin.identity.merge("one-timer-phone", "one-timer")
    assert merged == {
        "merged": True,
        "from_user_id": "one-timer-phone",
        "into_user_id": "one-timer",
        "user_id": "one-timer",
    }

    _recompute(world)
    assert _segments_of(world, "one-timer") == ["Repeat buyers"]
    assert _segments_of(world, "one-timer-phone") == []


def test_merge_follows_a_chain_and_refuses_a_cycle(world: World) -> None:
    assert world.admin.identity.merge("chain-b", "chain-c")["user_id"] == "chain-c"
    assert world.admin.identity.merge("chain-a", "chain-b")["user_id"] == "chain-c"

    with pytest.raises(SegOpsApiError) as cycle:
        world.admin.identity.merge("chain-c", "chain-a")
    assert cycle.value.status == 400
    assert "cycle" in str(cycle.value.body)


def test_a_key_without_identity_write_is_refused(world: World) -> None:
    scopes = ["events:write", "segments:read", "segments:write"]
    issued = api_key_issue(world.server, world.access, SLUG, name="No identity", scopes=scopes)
    limited = SegOpsAdmin(api_key=str(issued["key"]), base_url=world.api, max_retries=0)

    with pytest.raises(SegOpsApiError) as refused:
        limited.identity.alias("v2", "buyer-1")
    assert refused.value.status == 403
    assert "identity:write" in refused.value.body["detail"]
    with pytest.raises(SegOpsApiError) as refused:
        limited.identity.merge("x", "y")
    assert refused.value.status == 403
