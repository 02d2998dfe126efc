"""The official admin SDK's `schemas.*` and the CLI's `schemas list` / `schemas validate` against a
real server (the set-up of test_sdk_admin.py: sign up, a key, events), and what an enforced
schema does to events sent over HTTP: refused, skipped in a batch, or stored with its violations
(which the SDK's `users.events` shows)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from segops_admin import SegOpsApiError

from tests import test_sdk_admin as sdk
from tests.test_sdk_admin import World, _cli

pytestmark = pytest.mark.live

CHECKOUT = {
    "event_type": "checkout_started",
    "properties": {"cart_total": {"type": "number", "required": True}, "coupon": {"type": "string"}},
    "enforcement": "off",
}
MISSING_TOTAL = {"path": "payload.cart_total", "message": "Required by the schema, missing."}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sdk.live_world(tmp_path_factory.mktemp("sdk-admin-schemas")) as built:
        yield built


@pytest.fixture(scope="module")
def schema(world: World) -> dict[str, Any]:
    return dict(world.admin.schemas.create(CHECKOUT))


def _track(world: World, path: str, body: Any) -> requests.Response:
    return requests.post(
        f"{world.api}/ingestion/{path}",
        json=body,
        headers={"Authorization": f"ApiKey {world.key}"},
        timeout=10,
    )


def test_schemas_create_get_list_and_iterate(world: World, schema: dict[str, Any]) -> None:
    assert schema["event_type"] == "checkout_started"
    assert schema["properties"] == {
        "cart_total": {"type": "number", "required": True},
        "coupon": {"type": "string", "required": False},
    }
    assert (schema["enforcement"], schema["violation_count"], schema["rejection_count"]) == ("off", 0, 0)
    assert world.admin.schemas.get(schema["id"]) == schema
    listed = world.admin.schemas.list()
    assert set(listed) == {"count", "next", "previous", "results"}
    assert schema["id"] in [s["id"] for s in listed["results"]]
    assert schema["id"] in [s["id"] for s in world.admin.schemas.iterate()]


def test_schemas_infer_from_sample_events(world: World) -> None:
    inferred = world.admin.schemas.infer(
        [
            {"event_type": "order_placed", "payload": {"order": 1, "total": 20.5}},
            {"event_type": "order_placed", "payload": {"order": 2}},
            {"event_type": "page_view", "payload": {"path": "/"}},
        ]
    )
    assert inferred == {
        "results": [
            {
                "event_type": "order_placed",
                "events": 2,
                "properties": {
                    "order": {"type": "integer", "required": True},
                    "total": {"type": "number", "required": False},
                },
            },
            {
                "event_type": "page_view",
                "events": 1,
                "properties": {"path": {"type": "string", "required": True}},
            },
        ]
    }


def test_schemas_validate(world: World, schema: dict[str, Any]) -> None:
    good = world.admin.schemas.validate("checkout_started", {"cart_total": 12})
    assert good == {"valid": True, "errors": [], "schema": schema["id"]}
    bad = world.admin.schemas.validate("checkout_started", {"coupon": False})
    assert bad["valid"] is False
    assert bad["errors"] == [
        MISSING_TOTAL,
        {"path": "payload.coupon", "message": "Must be of type string, not boolean."},
    ]
    with pytest.raises(SegOpsApiError) as refused:
        world.admin.schemas.validate("Checkout Started", {})
    assert refused.value.status == 400
    assert "event_type" in refused.value.body


def test_reject_and_warn_apply_to_events_sent_over_http(world: World, schema: dict[str, Any]) -> None:
    world.admin.schemas.update(schema["id"], {"enforcement": "reject"})
    refused = _track(world, "track/", {"user_id": "shopper", "event_type": "checkout_started"})
    assert refused.status_code == 400
    assert refused.json() == {"payload.cart_total": ["Required by the schema, missing."]}
    batch = _track(
        world,
        "track/batch/",
        {
            "events": [
                {"user_id": "shopper", "event_type": "checkout_started", "payload": {"cart_total": 5}},
                {"user_id": "shopper", "event_type": "checkout_started", "payload": {}},
            ]
        },
    ).json()
    assert (batch["queued"], batch["skipped"], batch["rejected"]) == (1, 1, 1)
    assert batch["errors"][0]["reason"] == "schema"
    assert batch["errors"][0]["field"] == "payload.cart_total"

    world.admin.schemas.update(schema["id"], {"enforcement": "warn"})
    stored = _track(world, "track/", {"user_id": "shopper", "event_type": "checkout_started"})
    assert stored.status_code == 202
    events = world.admin.users.events("shopper")["results"]
    assert [e["schema_violations"] for e in events] == [[MISSING_TOTAL], None]
    counted = world.admin.schemas.get(schema["id"])
    assert (counted["violation_count"], counted["rejection_count"]) == (1, 2)


def test_schemas_refusals_and_delete(world: World) -> None:
    with pytest.raises(SegOpsApiError) as bad:
        world.admin.schemas.create({"event_type": "x_y", "properties": {"a": {"type": "money"}}})
    assert bad.value.status == 400
    assert "properties" in bad.value.body
    doomed = world.admin.schemas.create({"event_type": "doomed_event", "properties": {}})
    world.admin.schemas.delete(doomed["id"])  # 204
    with pytest.raises(SegOpsApiError) as gone:
        world.admin.schemas.get(doomed["id"])
    assert gone.value.status == 404
    assert gone.value.body == {"detail": "Event schema not found."}


def test_cli_lists_and_validates(world: World, schema: dict[str, Any], tmp_path: Path) -> None:
    listed = _cli(world, "schemas", "list")
    assert listed.returncode == 0, listed.stderr
    assert schema["id"] in [s["id"] for s in json.loads(listed.stdout)["results"]]

    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"cart_total": "12"}))
    checked = _cli(world, "schemas", "validate", "checkout_started", str(payload))
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == {
        "valid": False,
        "errors": [{"path": "payload.cart_total", "message": "Must be of type number, not string."}],
        "schema": schema["id"],
    }

    payload.write_text("[1, 2]")
    refused = _cli(world, "schemas", "validate", "checkout_started", str(payload))
    assert refused.returncode == 1
    assert "API error 400" in refused.stderr
