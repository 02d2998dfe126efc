"""The official admin SDK's sandbox, estimate, analytics, user events (`since`, `count`) and export
status calls, their CLI commands, and the out-of-scope resources' 404s, against a real server
(the set-up of test_sdk_admin.py: sign up, a key, events, segments, computes by the worker)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from segops_admin import SegOpsApiError

from tests import test_sdk_admin as sdk
from tests.test_sdk_admin import BUYERS, ORDERS, World, _cli

pytestmark = pytest.mark.live

computed = sdk.computed  # "Repeat buyers" recomputed through the SDK, on this module's server

ANY_ORDER = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}],
}
ORDERED = sorted(user for user, orders in ORDERS.items() if orders)  # buyer-1, buyer/2, one-timer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sdk.live_world(
        tmp_path_factory.mktemp("sdk-admin-analytics"), env={"SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS": "1"}
    ) as built:
        yield built


def _computed(world: World, segment_id: int) -> dict[str, Any]:
    world.admin.segments.recompute(segment_id)
    deadline = time.monotonic() + sdk.COMPUTE_TIMEOUT_SECONDS
    current = world.admin.segments.get(segment_id)
    while current["status"] != "computed" and time.monotonic() < deadline:
        time.sleep(0.25)
        current = world.admin.segments.get(segment_id)
    assert current["status"] == "computed", f"{current}\n{world.server.output()[-4000:]}"
    return dict(current)


@pytest.fixture(scope="module")
def any_order(world: World, computed: dict[str, Any]) -> dict[str, Any]:
    """A second computed segment (every user with an order), overlapping "Repeat buyers"."""
    pager = world.others[0]
    world.admin.segments.update(pager["id"], {"name": "Any order", "definition": ANY_ORDER})
    return _computed(world, pager["id"])


# ── estimate ─────────────────────────────────────────────────────────────────


def test_segments_estimate_counts_the_saved_rule(world: World, computed: dict[str, Any]) -> None:
    estimate = world.admin.segments.estimate(world.segment["id"])
    assert estimate["segment_id"] == world.segment["id"]
    assert estimate["estimated_members"] == len(BUYERS)
    assert estimate["exact"] is True
    assert estimate["computed_at"]

    with pytest.raises(SegOpsApiError) as no_rule:
        world.admin.segments.estimate(world.others[1]["id"])  # a segment without a rule
    assert no_rule.value.status == 400
    with pytest.raises(SegOpsApiError) as missing:
        world.admin.segments.estimate(999_999)
    assert missing.value.status == 404


# ── sandbox ──────────────────────────────────────────────────────────────────


def test_users_publish_sandbox_answers_entered_and_stores_nothing(
    world: World, computed: dict[str, Any], any_order: dict[str, Any]
) -> None:
    before = world.admin.users.get("one-timer")

    answer = world.admin.users.publish_sandbox(
        {"user_id": "one-timer", "event_type": "order_placed", "payload": {"total": 5}}
    )

    assert answer == {
        "published": True,
        "entered": [{"id": world.segment["id"], "name": "Repeat buyers"}],
        "exited": [],
        "unchanged_count": 1,  # already in "Any order"
        "skipped": [],
    }
    assert world.admin.users.get("one-timer")["event_count"] == before["event_count"]
    assert world.admin.segments.membership("one-timer")["segments"] == [
        {"id": any_order["id"], "name": "Any order", "computed_at": any_order["last_computed_at"]}
    ]

    with pytest.raises(SegOpsApiError) as invalid:
        world.admin.users.publish_sandbox({"user_id": "one-timer", "event_type": "Not Snake"})
    assert invalid.value.status == 400
    assert "event_type" in invalid.value.body


# ── user events: count and since ─────────────────────────────────────────────


def test_users_events_carry_count_and_filter_by_since(world: World) -> None:
    every = world.admin.users.events("buyer/2")
    assert every["count"] == 1 + ORDERS["buyer/2"]
    assert len(every["results"]) == every["count"]

    orders = world.admin.users.events("buyer/2", {"event_type": "order_placed", "limit": 1})
    assert orders["count"] == ORDERS["buyer/2"]
    assert len(orders["results"]) == 1

    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert world.admin.users.events("buyer/2", {"since": an_hour_ago})["count"] == every["count"]
    assert world.admin.users.events("buyer/2", {"since": tomorrow}) == {
        "count": 0,
        "results": [],
        "next_cursor": None,
    }
    with pytest.raises(SegOpsApiError) as bad:
        world.admin.users.events("buyer/2", {"since": "last week"})
    assert bad.value.status == 400
    assert "since" in bad.value.body


# ── export status ────────────────────────────────────────────────────────────


def test_a_finished_export_is_complete_with_a_download_url_and_an_expiry(
    world: World, computed: dict[str, Any]
) -> None:
    export = world.admin.segments.export(world.segment["id"])
    assert export["status"] == "pending"

    state = sdk._export_finished(world, export)

    assert state["status"] == "complete", f"{state}\n{world.server.output()[-4000:]}"
    assert state["download_url"].endswith(f"/api/segments/exports/{export['export_id']}/download/")
    expires = datetime.fromisoformat(state["expires_at"].replace("Z", "+00:00"))
    assert expires > datetime.now(UTC)


# ── analytics ────────────────────────────────────────────────────────────────


def test_analytics_overview_and_usage(
    world: World, computed: dict[str, Any], any_order: dict[str, Any]
) -> None:
    overview = world.admin.analytics.overview()
    assert overview == {
        "segment_count": 3,
        "total_members": len(BUYERS) + len(ORDERED),
        "events_30d": sum(ORDERS.values()) + len(ORDERS),
        "ai_credits_used": 0,
        "ai_credits_limit": 0,
    }
    usage = world.admin.analytics.usage()
    assert usage["plan"] == "enterprise"  # the installation's default plan
    assert (usage["events_limit"], usage["api_calls_per_minute_limit"]) == (None, None)
    assert usage["events_this_month"] == sum(ORDERS.values()) + len(ORDERS)
    assert (usage["segments"], usage["members"]) == (3, len(BUYERS) + len(ORDERED))
    assert usage["period_start"].endswith("-01T00:00:00Z")


def test_analytics_segments_and_overlap(
    world: World, computed: dict[str, Any], any_order: dict[str, Any]
) -> None:
    segments = {s["id"]: s for s in world.admin.analytics.segments()}
    assert set(segments) == {world.segment["id"], *(s["id"] for s in world.others)}
    repeat = segments[world.segment["id"]]
    assert (repeat["name"], repeat["member_count"]) == ("Repeat buyers", len(BUYERS))
    assert repeat["trend"] == []  # computed today only: fewer than 2 days known

    assert world.admin.analytics.overlap() == [
        {
            "seg_a_id": world.segment["id"],
            "seg_a_name": "Repeat buyers",
            "seg_b_id": any_order["id"],
            "seg_b_name": "Any order",
            "overlap": len(BUYERS),
            "overlap_pct": 100.0,
        }
    ]


def test_analytics_activations(world: World, computed: dict[str, Any]) -> None:
    created = world.admin.activations.create(
        {
            "segment": world.segment["id"],
            "connector_type": "webhook",
            "config": {"url": "http://127.0.0.1:9/segops", "secret": "sdk-secret"},
        }
    )
    world.admin.activations.update(created["id"], {"status": "active"})  # a first, full sync

    [row] = [a for a in world.admin.analytics.activations() if a["id"] == created["id"]]

    assert (row["segment_id"], row["segment_name"]) == (world.segment["id"], "Repeat buyers")
    assert row["connector_type"] == "webhook"
    assert row["member_count"] == len(BUYERS)
    assert [s["kind"] for s in row["sync_logs"]] == ["full"]
    assert row["success_rate"] in (None, 0.0)  # nothing listens there: no sync has succeeded
    assert "sdk-secret" not in json.dumps(row)


# ── out of scope ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("call", "feature"),
    [
        (lambda a: a.products.list(), "The product catalog (PIM)"),
        (lambda a: a.products.facets(), "The product catalog (PIM)"),
        (lambda a: a.product_segments.create({"name": "x"}), "Product segments"),
        (lambda a: a.queries.dashboard(), "AI visibility"),
        (lambda a: a.pages.query("shoes"), "AI landing pages"),
        (lambda a: a.pages.publish(1), "AI landing pages"),
    ],
)
def test_out_of_scope_resources_answer_404_with_a_clear_detail(world: World, call: Any, feature: str) -> None:
    with pytest.raises(SegOpsApiError) as refused:
        call(world.admin)
    assert refused.value.status == 404
    assert refused.value.body == {"detail": f"{feature} is not part of this installation."}


# ── the CLI ──────────────────────────────────────────────────────────────────


def test_cli_analytics_overview_and_usage(world: World, computed: dict[str, Any]) -> None:
    overview = _cli(world, "analytics", "overview")
    assert overview.returncode == 0, overview.stderr
    assert json.loads(overview.stdout)["segment_count"] == 3

    usage = _cli(world, "analytics", "usage")
    assert usage.returncode == 0, usage.stderr
    assert json.loads(usage.stdout)["plan"] == "enterprise"


def test_cli_users_search_get_and_events_with_since(world: World) -> None:
    found = _cli(world, "users", "search", "--q", "buyer")
    assert found.returncode == 0, found.stderr
    assert sorted(u["user_id"] for u in json.loads(found.stdout)["results"]) == sorted(BUYERS)

    got = _cli(world, "users", "get", "buyer-1")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["event_count"] == 1 + ORDERS["buyer-1"]

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = _cli(world, "users", "events", "buyer-1", "--event_type", "order_placed")
    assert events.returncode == 0, events.stderr
    assert json.loads(events.stdout)["count"] == ORDERS["buyer-1"]
    none_since = _cli(world, "users", "events", "buyer-1", f"--since={tomorrow}")
    assert none_since.returncode == 0, none_since.stderr
    assert json.loads(none_since.stdout)["count"] == 0


def test_cli_out_of_scope_commands_fail_with_the_404(world: World) -> None:
    for args in (("products", "list"), ("queries", "dashboard"), ("pages", "list")):
        result = _cli(world, *args)
        assert result.returncode == 1, result.stdout
        assert "API error 404" in result.stderr
        assert "not part of this installation" in result.stderr
