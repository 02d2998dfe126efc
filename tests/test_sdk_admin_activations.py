"""The official admin SDK's `activations.*` and the CLI's `activations list` / `activations sync`
against a real server (the set-up of test_sdk_admin.py: sign up, a key, events, segments, a
compute by the worker process), started with local receivers allowed (http, loopback)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from segops_admin import SegOpsApiError

from tests import test_sdk_admin as sdk
from tests.test_sdk_admin import BUYERS, World, _cli

pytestmark = pytest.mark.live

computed = sdk.computed  # the segment recomputed through the SDK, on this module's server


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sdk.live_world(
        tmp_path_factory.mktemp("sdk-admin-activations"), env={"SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS": "1"}
    ) as built:
        yield built


# Nothing listens there: batches the worker sends fail and reach no one.
RECEIVER = "http://127.0.0.1:9/segops"


@pytest.fixture(scope="module")
def activation(world: World, computed: dict[str, Any]) -> dict[str, Any]:
    created = world.admin.activations.create(
        {
            "segment": world.segment["id"],
            "connector_type": "webhook",
            "config": {"url": RECEIVER, "secret": "sdk-secret"},
            "status": "active",  # ignored: new activations start inactive
        }
    )
    return dict(created)


def _queued(world: World, activation_id: int, sync_id: int) -> dict[str, Any]:
    """The sync log entry once the worker has read a full sync's members and queued its batches."""
    deadline = time.monotonic() + sdk.COMPUTE_TIMEOUT_SECONDS
    while True:
        log = requests.get(
            f"{world.api}/activations/{activation_id}/syncs/",
            headers={"Authorization": f"ApiKey {world.key}"},
            timeout=10,
        ).json()
        [entry] = [s for s in log["results"] if s["id"] == sync_id]
        if entry["queued_at"] or time.monotonic() > deadline:
            assert entry["queued_at"], f"{entry}\n{world.server.output()[-4000:]}"
            return dict(entry)
        time.sleep(0.25)


def test_activations_create_get_and_list(world: World, activation: dict[str, Any]) -> None:
    assert activation["segment"] == world.segment["id"]
    assert activation["status"] == "inactive"
    assert activation["config"] == {"url": RECEIVER, "secret": "***"}
    assert activation["last_sync"] is None

    fetched = world.admin.activations.get(activation["id"])
    assert fetched == activation

    listed = world.admin.activations.list()
    assert set(listed) == {"count", "next", "previous", "results"}
    assert activation["id"] in [a["id"] for a in listed["results"]]
    mine = world.admin.activations.list({"segment": world.segment["id"]})
    assert [a["id"] for a in mine["results"]] == [activation["id"]]
    others = world.admin.activations.list({"segment": world.others[0]["id"]})
    assert others["count"] == 0
    assert activation["id"] in [a["id"] for a in world.admin.activations.iterate()]


def test_activations_update_activates_with_a_full_sync_and_sync_queues_another(
    world: World, activation: dict[str, Any]
) -> None:
    activated = world.admin.activations.update(activation["id"], {"status": "active"})
    assert activated["status"] == "active"
    assert activated["config"]["secret"] == "***"
    assert activated["last_sync"]["kind"] == "full"
    first = _queued(world, activation["id"], activated["last_sync"]["id"])
    assert (first["entered"], first["exited"], first["batches"]) == (len(BUYERS), 0, 1)

    answer = world.admin.activations.sync(activation["id"])
    assert answer["kind"] == "full"
    assert answer["id"] != first["id"]
    synced = _queued(world, activation["id"], answer["id"])
    assert synced["entered"] == len(BUYERS)
    assert synced["generation"] == first["generation"]

    log = requests.get(
        f"{world.api}/activations/{activation['id']}/syncs/",
        headers={"Authorization": f"ApiKey {world.key}"},
        timeout=10,
    ).json()
    assert [s["id"] for s in log["results"]][:2] == [synced["id"], first["id"]]


def test_activations_refuse_connectors_this_installation_lacks(
    world: World, computed: dict[str, Any]
) -> None:
    with pytest.raises(SegOpsApiError) as refused:
        world.admin.activations.create(
            {"segment": world.segment["id"], "connector_type": "klaviyo", "config": {"api_key": "x"}}
        )
    assert refused.value.status == 400
    assert "not available in this installation" in refused.value.body["connector_type"][0]


def test_activations_delete(world: World, computed: dict[str, Any]) -> None:
    doomed = world.admin.activations.create(
        {
            "segment": world.segment["id"],
            "connector_type": "webhook",
            "config": {"url": RECEIVER, "secret": "x"},
        }
    )
    world.admin.activations.delete(doomed["id"])  # 204
    with pytest.raises(SegOpsApiError) as gone:
        world.admin.activations.get(doomed["id"])
    assert gone.value.status == 404


def test_cli_lists_and_syncs_activations(world: World, activation: dict[str, Any]) -> None:
    world.admin.activations.update(activation["id"], {"status": "active"})
    listed = _cli(world, "activations", "list")
    assert listed.returncode == 0, listed.stderr
    assert activation["id"] in [a["id"] for a in json.loads(listed.stdout)["results"]]

    synced = _cli(world, "activations", "sync", str(activation["id"]))
    assert synced.returncode == 0, synced.stderr
    answer = json.loads(synced.stdout)
    assert answer["kind"] == "full"
    assert _queued(world, activation["id"], answer["id"])["entered"] == len(BUYERS)

    missing = _cli(world, "activations", "sync", "999999")
    assert missing.returncode == 1
    assert "API error 404" in missing.stderr
