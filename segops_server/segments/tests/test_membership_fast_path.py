"""The delivery API through the short way (core/fastpath.py): well-formed questions from a secret
key are answered exactly as the DRF view answers them; everything else goes to the DRF view."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from segops_server.accounts.plans import PLANS, Plan, PlanName
from segops_server.keys.services import IssuedKey
from segops_server.segments.tests.test_segments_api import _create, _history
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, make_api_key
from segops_server.testing.wsgi import Answer, Application

pytestmark = pytest.mark.django_db

MEMBERSHIP = "/api/segments/membership/"


@pytest.fixture
def buyers(team: Team, django_capture_on_commit_callbacks: Any) -> int:
    """Acme's "Buyers" segment, computed: alice and bob are members, carol is not."""
    _history(team)
    segment_id = int(_create(team).json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    return segment_id


@pytest.fixture
def reader(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, scopes=["segments:read"])


def _ask(app: Application, key: str, query: str, way: str = "fast", **headers: str) -> Answer:
    call = app.fast if way == "fast" else app.django
    return call("GET", f"{MEMBERSHIP}?{query}", headers={"Authorization": f"ApiKey {key}", **headers})


def _same_answer(fast: Answer, django: Answer) -> None:
    assert (fast.status, fast.headers, fast.body) == (django.status, django.headers, django.body)


@pytest.mark.parametrize(
    "query",
    [
        "user_id=alice",
        "user_id=carol",
        "user_id=nobody",
        "user_id=%20alice",  # a user of its own, not alice (core/ids.py)
        "user_id=alice&segment_id={s}",
        "user_id=carol&segment_id={s}",
    ],
)
def test_it_answers_well_formed_questions_as_the_drf_view(
    team: Team, buyers: int, reader: IssuedKey, query: str
) -> None:
    app = Application()
    fast = _ask(app, reader.key, query.format(s=buyers))
    assert fast.served_by == "fast path"
    assert fast.status == 200
    _same_answer(fast, _ask(app, reader.key, query.format(s=buyers), way="django"))


def test_it_lists_the_users_segments_with_their_compute_time(
    team: Team, buyers: int, reader: IssuedKey
) -> None:
    body = _ask(Application(), reader.key, "user_id=alice").json()
    assert body["user_id"] == "alice"
    assert [(s["id"], s["name"]) for s in body["segments"]] == [(buyers, "Buyers")]
    assert body["segments"][0]["computed_at"].endswith("Z")
    member = _ask(Application(), reader.key, f"user_id=carol&segment_id={buyers}").json()
    assert member == {"user_id": "carol", "segment_id": buyers, "member": False}


def test_it_reads_url_encoded_user_ids(team: Team, reader: IssuedKey) -> None:
    answer = _ask(Application(), reader.key, "user_id=" + quote("a b/é&c", safe=""))
    assert (answer.served_by, answer.json()) == ("fast path", {"user_id": "a b/é&c", "segments": []})


def test_it_records_the_keys_last_use(team: Team, reader: IssuedKey) -> None:
    _ask(Application(), reader.key, "user_id=alice")
    assert api_key_row(reader).last_used_at is not None


# Each is answered by the DRF view, the same way whichever way it came in.
DECLINED = {
    "no user_id": ("", 400),
    "blank user_id": ("user_id=", 400),
    "too long user_id": ("user_id=" + "u" * 256, 400),
    "NUL in user_id": ("user_id=a%00b", 400),
    "user_id twice": ("user_id=alice&user_id=bob", 200),
    "unknown parameter": ("user_id=alice&limit=3", 200),
    "segment_id not a number": ("user_id=alice&segment_id=x", 400),
    "segment_id zero": ("user_id=alice&segment_id=0", 400),
    "segment_id beyond a bigint": ("user_id=alice&segment_id=" + "9" * 25, 400),
    "segment_id unknown": ("user_id=alice&segment_id=999999", 404),
    "another tenant's segment": ("user_id=alice&segment_id={globex}", 404),
    "tenant named by slug": ("user_id=alice&tenant_slug=globex", 403),
    "a key in the URL": ("user_id=alice&k={key}", 401),
}


@pytest.mark.parametrize("case", DECLINED)
def test_it_hands_anything_unusual_to_the_drf_view(
    team: Team, buyers: int, reader: IssuedKey, case: str
) -> None:
    globex = _create(team, who="outsider").json()["id"]
    query, status = DECLINED[case]
    query = query.format(globex=globex, key=reader.key)
    app = Application()
    fast = _ask(app, reader.key, query)
    assert fast.served_by == "django"
    assert fast.status == status, fast.body
    _same_answer(fast, _ask(app, reader.key, query, way="django"))


def test_it_hands_persons_and_keys_without_the_scope_to_the_drf_view(team: Team, buyers: int) -> None:
    writer = make_api_key(team.tenant, scopes=["events:write"])
    refused = _ask(Application(), writer.key, "user_id=alice")
    assert (refused.served_by, refused.status) == ("django", 403)
    bearer = team.client("viewer")._credentials["HTTP_AUTHORIZATION"]  # type: ignore[attr-defined]
    person = Application().fast("GET", f"{MEMBERSHIP}?user_id=alice", headers={"Authorization": bearer})
    assert (person.served_by, person.status) == ("django", 200)
    assert [s["id"] for s in person.json()["segments"]] == [buyers]


def test_a_tenant_over_its_calls_a_minute_is_refused_by_the_drf_view(
    team: Team, reader: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, PlanName.FREE, Plan(events_per_month=None, calls_per_minute=2))
    team.tenant.plan = PlanName.FREE
    team.tenant.save(update_fields=["plan"])
    app = Application()
    answers = [_ask(app, reader.key, "user_id=alice") for _ in range(3)]
    assert [(a.served_by, a.status) for a in answers] == [
        ("fast path", 200),
        ("fast path", 200),
        ("django", 429),
    ]
    assert answers[2].header("retry-after") is not None
