"""The official admin SDK (`segops-admin` from PyPI, unmodified) and its CLI against a real server.

`segops run` in a subprocess (granian plus the `segops worker` task worker) on its own database:
a SQLite file, or a fresh PostgreSQL database when the suite runs on PostgreSQL. Everything is
set up over HTTP as a customer would: sign up, create a secret key, send events, then drive
segments, the delivery API and the explorer through `SegOpsAdmin`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from segops_admin import SegOpsAdmin, SegOpsApiError, SegOpsConfigError

from segops_server.testing.live import LiveServer, api_key_issue, live_database, live_server_start, sign_up

pytestmark = pytest.mark.live

SLUG = "sdkadmin"
COMPUTE_TIMEOUT_SECONDS = 60
CLI_TIMEOUT_SECONDS = 60

REPEAT_BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}],
}
# Orders per user. The slash in "buyer/2" exercises the URL-encoded user ids of the explorer.
ORDERS = {"buyer-1": 2, "buyer/2": 3, "one-timer": 1, "browser": 0}
BUYERS = ["buyer-1", "buyer/2"]


def _without_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    """The server saves definitions normalised (optional fields spelled out as null)."""
    return {
        **definition,
        "conditions": [{k: v for k, v in c.items() if v is not None} for c in definition["conditions"]],
    }


@dataclass
class World:
    server: LiveServer
    access: str
    key: str
    admin: SegOpsAdmin
    api: str
    segment: dict[str, Any]
    others: list[dict[str, Any]]


def _send_events(server: LiveServer, key: str) -> None:
    events: list[dict[str, Any]] = []
    for user_id, orders in ORDERS.items():
        events.append({"user_id": user_id, "event_type": "page_view", "payload": {"path": "/"}})
        events.extend(
            {"user_id": user_id, "event_type": "order_placed", "payload": {"order": n, "total": 10 * (n + 1)}}
            for n in range(orders)
        )
    response = requests.post(
        f"{server.url}/api/ingestion/track/batch/",
        json={"events": events},
        headers={"Authorization": f"ApiKey {key}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    assert response.json()["queued"] == len(events)


def _set_up(server: LiveServer) -> World:
    """Over HTTP, as a customer would: sign up, a secret key, events, then three segments via the SDK."""
    access = sign_up(server, SLUG)
    key = str(api_key_issue(server, access, SLUG)["key"])
    assert key.startswith("sk_")
    _send_events(server, key)
    api = f"{server.url}/api"
    admin = SegOpsAdmin(api_key=key, base_url=api, max_retries=0)
    # create() sends a fresh Idempotency-Key header on every call: the server must accept it.
    segment = admin.segments.create(
        {"name": "Repeat buyers", "description": "Two orders or more", "definition": REPEAT_BUYERS}
    )
    others = [admin.segments.create({"name": f"Pager {n}"}) for n in (2, 3)]
    return World(server=server, access=access, key=key, admin=admin, api=api, segment=segment, others=others)


@contextmanager
def live_world(tmp: Path, env: dict[str, str] | None = None) -> Iterator[World]:
    """A production server on its own database with the SDK's world set up (every SDK module's)."""
    with live_database(tmp) as database_url:
        server = live_server_start(data_dir=tmp / "data", database_url=database_url, env=env or {})
        try:
            try:
                built = _set_up(server)
            except Exception as exc:
                raise RuntimeError(f"set-up failed: {exc!r}\n{server.output()[-8000:]}") from exc
            yield built
        finally:
            server.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with live_world(tmp_path_factory.mktemp("sdk-admin")) as built:
        yield built


@pytest.fixture(scope="module")
def computed(world: World) -> dict[str, Any]:
    """Recompute through the SDK; the server's own worker process must materialise the members."""
    segment_id = world.segment["id"]
    answer = world.admin.segments.recompute(segment_id)
    assert answer["status"] == "queued"
    deadline = time.monotonic() + COMPUTE_TIMEOUT_SECONDS
    current = world.admin.segments.get(segment_id)
    while current["status"] != "computed" and time.monotonic() < deadline:
        assert current["status"] in ("computing", "draft"), current
        time.sleep(0.25)
        current = world.admin.segments.get(segment_id)
    assert current["status"] == "computed", f"{current}\n{world.server.output()[-4000:]}"
    return current


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("segops-admin")
    assert script.exists(), f"the SDK's console script is missing next to {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGOPS_", "DATABASE_URL"))}
    env.update(SEGOPS_API_KEY=world.key, SEGOPS_API_URL=world.api)
    return subprocess.run(
        [str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


# ── segments: CRUD, versions, pages ──────────────────────────────────────────


def test_create_returns_the_segment_and_get_reads_it_back(world: World) -> None:
    created = world.segment
    assert created["name"] == "Repeat buyers"
    assert created["segment_type"] == "rule"
    assert created["status"] == "draft"
    assert _without_defaults(created["definition"]) == REPEAT_BUYERS

    fetched = world.admin.segments.get(created["id"])
    assert fetched["id"] == created["id"]
    assert fetched["definition"] == created["definition"]
    assert fetched["description"] == "Two orders or more"


def test_versions_list_every_saved_definition(world: World) -> None:
    versions = world.admin.segments.versions(world.segment["id"])
    assert set(versions) == {"count", "next", "previous", "results"}
    assert versions["count"] == 1
    assert versions["results"][0]["number"] == 1
    assert versions["results"][0]["definition"] == world.segment["definition"]

    pager = world.others[0]
    updated = world.admin.segments.update(pager["id"], {"definition": REPEAT_BUYERS})
    assert _without_defaults(updated["definition"]) == REPEAT_BUYERS
    world.admin.segments.update(pager["id"], {"definition": {**REPEAT_BUYERS, "logic": "OR"}})
    numbers = [v["number"] for v in world.admin.segments.versions(pager["id"])["results"]]
    assert numbers == [2, 1]


def test_list_is_the_page_number_envelope_and_iterate_walks_every_page(world: World) -> None:
    ids = {world.segment["id"], *(s["id"] for s in world.others)}

    everything = world.admin.segments.list()
    assert set(everything) == {"count", "next", "previous", "results"}
    assert everything["count"] == 3
    assert everything["next"] is None
    assert everything["previous"] is None
    assert {s["id"] for s in everything["results"]} == ids

    first = world.admin.segments.list({"page_size": 2})
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["next"]
    second = world.admin.segments.list({"page_size": 2, "page": 2})
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"]

    walked = [s["id"] for s in world.admin.segments.iterate({"page_size": 2})]
    assert len(walked) == 3
    assert set(walked) == ids


def test_preview_counts_samples_and_shows_the_sql(world: World) -> None:
    preview = world.admin.segments.preview(REPEAT_BUYERS)
    assert preview["matched_users"] == len(BUYERS)
    assert preview["sample_user_ids"] == sorted(BUYERS)
    assert isinstance(preview["sql"], str)
    assert preview["sql"]


# ── compute (by the worker process), members, delivery ─────────────────────


def test_recompute_is_run_by_the_worker_process(world: World, computed: dict[str, Any]) -> None:
    assert computed["member_count"] == len(BUYERS)
    assert computed["last_computed_at"]
    assert computed["computed_version"] == 1


def test_members_lists_the_computed_users(world: World, computed: dict[str, Any]) -> None:
    members = world.admin.segments.members(world.segment["id"])
    assert [m["user_id"] for m in members["results"]] == sorted(BUYERS)
    assert all(m["computed_at"] for m in members["results"])

    page = world.admin.segments.members(world.segment["id"], {"limit": 1})
    assert [m["user_id"] for m in page["results"]] == [sorted(BUYERS)[0]]
    rest = world.admin.segments.members(world.segment["id"], {"limit": 1, "cursor": page["next_cursor"]})
    assert [m["user_id"] for m in rest["results"]] == [sorted(BUYERS)[1]]


def test_membership_answers_the_delivery_question(world: World, computed: dict[str, Any]) -> None:
    buyer = world.admin.segments.membership("buyer-1")
    assert buyer["user_id"] == "buyer-1"
    assert [(s["id"], s["name"]) for s in buyer["segments"]] == [(world.segment["id"], "Repeat buyers")]
    assert buyer["segments"][0]["computed_at"]

    assert world.admin.segments.membership("one-timer") == {"user_id": "one-timer", "segments": []}
    assert world.admin.segments.membership("nobody-at-all") == {"user_id": "nobody-at-all", "segments": []}


def _export_finished(world: World, export: dict[str, Any]) -> dict[str, Any]:
    """Poll the export (GET …/export/?export_id=) until the worker process has written the file."""
    url = f"{world.api}/segments/{export['segment_id']}/export/"
    headers = {"Authorization": f"ApiKey {world.key}"}
    deadline = time.monotonic() + COMPUTE_TIMEOUT_SECONDS
    while True:
        state = requests.get(
            url, params={"export_id": export["export_id"]}, headers=headers, timeout=10
        ).json()
        if state["status"] not in ("pending", "running") or time.monotonic() > deadline:
            return state
        time.sleep(0.25)


def test_export_writes_the_members_to_a_file_the_key_downloads(
    world: World, computed: dict[str, Any]
) -> None:
    export = world.admin.segments.export(world.segment["id"], format="csv")
    assert export["status"] == "pending"
    assert export["export_id"]

    state = _export_finished(world, export)
    assert state["status"] == "complete", f"{state}\n{world.server.output()[-4000:]}"
    assert state["row_count"] == len(BUYERS)
    download = requests.get(
        state["download_url"], headers={"Authorization": f"ApiKey {world.key}"}, timeout=10
    )
    assert download.status_code == 200
    lines = download.text.splitlines()
    assert lines[0] == "user_id,computed_at"
    assert [line.split(",")[0] for line in lines[1:]] == sorted(BUYERS)


# ── explorer ─────────────────────────────────────────────────────────────────


def test_explorer_search_get_and_events(world: World) -> None:
    found = world.admin.users.search({"q": "buyer"})
    assert found["count"] == 2
    assert sorted(u["user_id"] for u in found["results"]) == sorted(BUYERS)

    profile = world.admin.users.get("buyer/2")
    assert profile["user_id"] == "buyer/2"
    assert profile["event_count"] == 1 + ORDERS["buyer/2"]
    assert "properties" in profile

    orders = world.admin.users.events("buyer/2", {"event_type": "order_placed"})
    assert len(orders["results"]) == ORDERS["buyer/2"]
    assert {e["event_type"] for e in orders["results"]} == {"order_placed"}
    assert {e["user_id"] for e in orders["results"]} == {"buyer/2"}


def test_explorer_segments_and_explain(world: World, computed: dict[str, Any]) -> None:
    segments = world.admin.users.segments("buyer/2")
    assert [(s["segment_id"], s["segment_name"]) for s in segments] == [
        (world.segment["id"], "Repeat buyers")
    ]
    assert segments[0]["member_count"] == len(BUYERS)
    assert world.admin.users.segments("one-timer") == []

    explained = world.admin.users.explain("buyer/2", world.segment["id"])
    assert explained["matched"] is True
    assert [(c["type"], c["matched"], c["value"]) for c in explained["conditions"]] == [
        ("event_count", True, ORDERS["buyer/2"])
    ]
    not_in = world.admin.users.explain("one-timer", world.segment["id"])
    assert not_in["matched"] is False
    assert not_in["conditions"][0]["value"] == 1


# ── errors ───────────────────────────────────────────────────────────────────


def test_a_missing_segment_raises_the_sdk_error_with_status_and_detail(world: World) -> None:
    with pytest.raises(SegOpsApiError) as missing:
        world.admin.segments.get(999_999)
    assert missing.value.status == 404
    assert missing.value.body == {"detail": "Segment not found."}

    with pytest.raises(SegOpsApiError) as no_route:
        world.admin.http.request("GET", "/segments/not-a-number/")
    assert no_route.value.status == 404
    assert "detail" in no_route.value.body


def test_a_malformed_definition_raises_a_400_naming_the_field(world: World) -> None:
    bad = {"logic": "AND", "conditions": [{"type": "event_count", "event_type": "order_placed"}]}
    with pytest.raises(SegOpsApiError) as invalid:
        world.admin.segments.create({"name": "Broken", "definition": bad})
    assert invalid.value.status == 400
    assert "definition" in invalid.value.body
    assert world.admin.segments.list()["count"] == 3  # nothing was created


def test_a_key_without_write_scope_is_refused_and_non_secret_keys_are_rejected(world: World) -> None:
    read_only = api_key_issue(world.server, world.access, SLUG, name="Reader", scopes=["segments:read"])
    reader = SegOpsAdmin(api_key=str(read_only["key"]), base_url=world.api, max_retries=0)
    assert reader.segments.get(world.segment["id"])["name"] == "Repeat buyers"
    with pytest.raises(SegOpsApiError) as refused:
        reader.segments.create({"name": "Nope"})
    assert refused.value.status == 403
    assert "detail" in refused.value.body

    with pytest.raises(SegOpsConfigError):
        SegOpsAdmin(api_key="pk_live_whatever", base_url=world.api)


def test_a_create_retried_after_a_lost_answer_replays_instead_of_creating_twice(world: World) -> None:
    """The SDK retries a 5xx with the same Idempotency-Key: simulate an answer lost on the way back."""
    sent: list[tuple[str, str | None]] = []

    def lossy(method: str, url: str, headers: dict[str, str], body: bytes | None) -> tuple[int, str]:
        answer = requests.request(method, url, headers=headers, data=body, timeout=30)
        sent.append((method, headers.get("Idempotency-Key")))
        if method == "POST" and len(sent) == 1:
            return 503, '{"detail": "lost on the way back"}'
        return answer.status_code, answer.text

    flaky = SegOpsAdmin(api_key=world.key, base_url=world.api, max_retries=1, _transport=lossy)
    created = flaky.segments.create({"name": "Retried", "definition": REPEAT_BUYERS})
    try:
        assert [m for m, _ in sent] == ["POST", "POST"]
        assert sent[0][1] is not None
        assert sent[0][1] == sent[1][1]
        names = [s["name"] for s in world.admin.segments.iterate()]
        assert names.count("Retried") == 1

        # The same key on another request is a conflict, not a silent replay.
        reused = requests.post(
            f"{world.api}/segments/",
            json={"name": "Something else"},
            headers={"Authorization": f"ApiKey {world.key}", "Idempotency-Key": str(sent[0][1])},
            timeout=10,
        )
        assert reused.status_code == 409, reused.text
        assert "detail" in reused.json()
    finally:
        world.admin.segments.delete(created["id"])  # 204: the SDK returns None
    assert world.admin.segments.list()["count"] == 3


# ── the CLI ──────────────────────────────────────────────────────────────────


def test_cli_lists_segments(world: World) -> None:
    result = _cli(world, "segments", "list")
    assert result.returncode == 0, result.stderr
    assert "Repeat buyers" in result.stdout
    page = json.loads(result.stdout)
    assert page["count"] == 3


def test_cli_exports_a_segment(world: World, computed: dict[str, Any]) -> None:
    done = _cli(world, "segments", "export", str(world.segment["id"]), "--format=parquet")
    assert done.returncode == 0, done.stderr
    export = json.loads(done.stdout)
    assert export["format"] == "parquet"
    assert _export_finished(world, export)["status"] == "complete"


def test_cli_membership_and_errors(world: World, computed: dict[str, Any]) -> None:
    result = _cli(world, "segments", "membership", "buyer-1")
    assert result.returncode == 0, result.stderr
    assert [s["name"] for s in json.loads(result.stdout)["segments"]] == ["Repeat buyers"]

    missing = _cli(world, "segments", "get", "999999")
    assert missing.returncode == 1
    assert "API error 404" in missing.stderr
