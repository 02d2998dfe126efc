"""The official admin SDK's CLI commands for segments that test_sdk_admin.py (at its size limit)
does not drive: `segments create`, `get`, `recompute`, `members` and `delete`, against a real
server (its set-up: sign up, a key, events, segments; computes by the worker process)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from segops_admin import SegOpsApiError

from tests import test_sdk_admin as sdk
from tests.test_sdk_admin import BUYERS, REPEAT_BUYERS, World, _cli, _without_defaults

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sdk.live_world(tmp_path_factory.mktemp("sdk-admin-more")) as built:
        yield built


def _answer(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_creates_gets_and_deletes_a_segment(world: World, tmp_path: Path) -> None:
    body = tmp_path / "segment.json"
    body.write_text(json.dumps({"name": "From the CLI", "definition": REPEAT_BUYERS}))

    created = _answer(_cli(world, "segments", "create", str(body)))
    assert created["name"] == "From the CLI"
    assert created["status"] == "draft"
    assert _without_defaults(created["definition"]) == REPEAT_BUYERS
    assert world.admin.segments.get(created["id"]) == created

    got = _answer(_cli(world, "segments", "get", str(created["id"])))
    assert got == created

    assert _answer(_cli(world, "segments", "delete", str(created["id"]))) == {"ok": True}
    with pytest.raises(SegOpsApiError) as gone:
        world.admin.segments.get(created["id"])
    assert gone.value.status == 404
    again = _cli(world, "segments", "delete", str(created["id"]))
    assert again.returncode == 1
    assert "API error 404" in again.stderr

    body.write_text(json.dumps({"name": "Broken", "definition": {"logic": "AND", "conditions": [{}]}}))
    refused = _cli(world, "segments", "create", str(body))
    assert refused.returncode == 1
    assert "API error 400" in refused.stderr
    assert "definition" in refused.stderr


def test_cli_recomputes_and_lists_the_members_by_pages(world: World) -> None:
    segment_id = world.segment["id"]
    queued = _answer(_cli(world, "segments", "recompute", str(segment_id)))
    assert queued["status"] == "queued"

    deadline = time.monotonic() + sdk.COMPUTE_TIMEOUT_SECONDS
    current = world.admin.segments.get(segment_id)
    while current["status"] != "computed" and time.monotonic() < deadline:
        time.sleep(0.25)
        current = world.admin.segments.get(segment_id)
    assert current["status"] == "computed", f"{current}\n{world.server.output()[-4000:]}"
    assert current["member_count"] == len(BUYERS)

    every = _answer(_cli(world, "segments", "members", str(segment_id)))
    assert [m["user_id"] for m in every["results"]] == sorted(BUYERS)
    first = _answer(_cli(world, "segments", "members", str(segment_id), "--limit", "1"))
    assert [m["user_id"] for m in first["results"]] == sorted(BUYERS)[:1]
    rest = _answer(
        _cli(world, "segments", "members", str(segment_id), "--limit=1", f"--cursor={first['next_cursor']}")
    )
    assert [m["user_id"] for m in rest["results"]] == sorted(BUYERS)[1:]

    missing = _cli(world, "segments", "recompute", "999999")
    assert missing.returncode == 1
    assert "API error 404" in missing.stderr
