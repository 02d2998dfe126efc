"""/api/schemas/: create, list, read, change, delete, limits, roles and scopes; infer; validate."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.schemas.models import EventSchema
from segops_server.schemas.services import MAX_PROPERTIES, MAX_SCHEMAS_PER_TENANT
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db

ORDER = {
    "event_type": "order_placed",
    "properties": {"amount": {"type": "number", "required": True}, "coupon": {"type": "string"}},
    "enforcement": "reject",
}


def _create(team: Team, who: str = "member", **body: Any) -> Any:
    return team.client(who).post("/api/schemas/", {**ORDER, **body}, format="json")


def test_it_creates_reads_lists_changes_and_deletes_a_schema(team: Team) -> None:
    created = _create(team)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["event_type"] == "order_placed"
    assert body["properties"] == {
        "amount": {"type": "number", "required": True},
        "coupon": {"type": "string", "required": False},
    }
    assert body["enforcement"] == "reject"
    assert (body["violation_count"], body["rejection_count"]) == (0, 0)
    viewer = team.client("viewer")
    assert viewer.get(f"/api/schemas/{body['id']}/").json() == body
    listed = viewer.get("/api/schemas/").json()
    assert listed["count"] == 1
    assert listed["results"] == [body]

    changed = team.client("member").patch(
        f"/api/schemas/{body['id']}/", {"enforcement": "warn"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["enforcement"] == "warn"
    assert changed.json()["properties"] == body["properties"]

    assert team.client("member").delete(f"/api/schemas/{body['id']}/").status_code == 204
    assert not EventSchema.objects.for_tenant(team.tenant).exists()
    assert viewer.get(f"/api/schemas/{body['id']}/").status_code == 404


def test_it_defaults_enforcement_to_off(team: Team) -> None:
    body = {"event_type": "page_viewed", "properties": {"url": {"type": "string", "required": True}}}
    created = team.client("member").post("/api/schemas/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["enforcement"] == "off"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_type": "Order Placed"}, "event_type"),
        ({"event_type": "x" * 101}, "event_type"),
        ({"enforcement": "block"}, "enforcement"),
        ({"properties": []}, "properties"),
        ({"properties": {"amount": {"type": "money"}}}, "properties"),
        ({"properties": {"amount": "number"}}, "properties"),
        ({"properties": {"amount": {"type": "number", "required": "yes"}}}, "properties"),
        ({"properties": {"amount": {"type": "number", "min": 1}}}, "properties"),
        ({"properties": {"": {"type": "number"}}}, "properties"),
    ],
)
def test_it_refuses_a_bad_schema_naming_the_field(team: Team, body: dict[str, Any], field: str) -> None:
    answer = _create(team, **body)
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.content


def test_it_refuses_a_second_schema_for_one_event_type(team: Team) -> None:
    assert _create(team).status_code == 201
    again = _create(team)
    assert again.status_code == 400
    assert "exists already" in again.json()["event_type"][0]
    other = _create(team, event_type="page_viewed").json()
    renamed = team.client("member").patch(
        f"/api/schemas/{other['id']}/", {"event_type": "order_placed"}, format="json"
    )
    assert renamed.status_code == 400
    assert "exists already" in renamed.json()["event_type"][0]


def test_it_limits_properties_per_schema(team: Team) -> None:
    many = {f"p{i}": {"type": "string"} for i in range(MAX_PROPERTIES + 1)}
    answer = _create(team, properties=many)
    assert answer.status_code == 400
    assert f"at most {MAX_PROPERTIES} properties" in answer.json()["properties"][0]


def test_it_limits_schemas_per_tenant(team: Team) -> None:
    EventSchema.objects.for_tenant(team.tenant).bulk_create(
        EventSchema(tenant=team.tenant, event_type=f"type_{i}", properties={})
        for i in range(MAX_SCHEMAS_PER_TENANT)
    )
    answer = _create(team)
    assert answer.status_code == 400
    assert f"at most {MAX_SCHEMAS_PER_TENANT} event schemas" in answer.json()["detail"]


def test_it_lets_viewers_read_infer_and_validate_but_not_write(team: Team) -> None:
    schema_id = _create(team).json()["id"]
    viewer = team.client("viewer")
    assert viewer.post("/api/schemas/", {**ORDER, "event_type": "x"}, format="json").status_code == 403
    assert (
        viewer.patch(f"/api/schemas/{schema_id}/", {"enforcement": "off"}, format="json").status_code == 403
    )
    assert viewer.delete(f"/api/schemas/{schema_id}/").status_code == 403
    sample = {"events": [{"event_type": "a", "payload": {}}]}
    assert viewer.post("/api/schemas/infer/", sample, format="json").status_code == 200
    check = {"event_type": "order_placed", "payload": {"amount": 1}}
    assert viewer.post("/api/schemas/validate/", check, format="json").status_code == 200


def test_it_takes_keys_with_segments_scopes(team: Team) -> None:
    reader = key_client(make_api_key(team.tenant, scopes=["segments:read"]).key)
    writer = key_client(make_api_key(team.tenant, scopes=["segments:write"]).key)
    ingestor = key_client(make_api_key(team.tenant, scopes=["events:write"]).key)
    assert reader.post("/api/schemas/", ORDER, format="json").status_code == 403
    assert ingestor.get("/api/schemas/").status_code == 403
    created = writer.post("/api/schemas/", ORDER, format="json")
    assert created.status_code == 201, created.content
    assert reader.get(f"/api/schemas/{created.json()['id']}/").status_code == 200
    check = {"event_type": "order_placed", "payload": {}}
    assert reader.post("/api/schemas/validate/", check, format="json").json()["valid"] is False
    assert ingestor.post("/api/schemas/validate/", check, format="json").status_code == 403


def test_it_hides_another_tenants_schema(team: Team) -> None:
    schema_id = _create(team).json()["id"]
    outsider = team.client("outsider")
    assert outsider.get(f"/api/schemas/{schema_id}/").status_code == 404
    assert (
        outsider.patch(f"/api/schemas/{schema_id}/", {"enforcement": "off"}, format="json").status_code == 404
    )
    assert outsider.delete(f"/api/schemas/{schema_id}/").status_code == 404
    assert outsider.get("/api/schemas/").json()["count"] == 0
    assert EventSchema.objects.for_tenant(team.tenant).get().enforcement == "reject"


def test_it_infers_types_and_required_properties_per_event_type(team: Team) -> None:
    events = [
        {"event_type": "order_placed", "payload": {"amount": 10, "coupon": "X", "gift": True}},
        {"event_type": "order_placed", "payload": {"amount": 12.5, "items": [1], "meta": {"a": 1}}},
        {"event_type": "order_placed", "payload": {"amount": 3, "note": None}},
        {"event_type": "page_viewed", "payload": {"url": "/a"}},
        {"event_type": "page_viewed"},
    ]
    answer = team.client("viewer").post("/api/schemas/infer/", {"events": events}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "results": [
            {
                "event_type": "order_placed",
                "events": 3,
                "properties": {
                    "amount": {"type": "number", "required": True},
                    "coupon": {"type": "string", "required": False},
                    "gift": {"type": "boolean", "required": False},
                    "items": {"type": "array", "required": False},
                    "meta": {"type": "object", "required": False},
                },
            },
            {
                "event_type": "page_viewed",
                "events": 2,
                "properties": {"url": {"type": "string", "required": False}},
            },
        ]
    }
    assert not EventSchema.objects.for_tenant(team.tenant).exists()


def test_it_infers_integers_when_every_value_is_whole(team: Team) -> None:
    events = [{"event_type": "a", "payload": {"n": 1}}, {"event_type": "a", "payload": {"n": 2}}]
    answer = team.client("viewer").post("/api/schemas/infer/", {"events": events}, format="json")
    assert answer.json()["results"][0]["properties"] == {"n": {"type": "integer", "required": True}}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"events": []},
        {"events": "x"},
        {"events": [{"payload": {}}]},
        {"events": [{"event_type": "a", "payload": [1]}]},
        {"events": [{"event_type": "a"}] * 501},
    ],
)
def test_it_refuses_bad_samples(team: Team, body: dict[str, Any]) -> None:
    answer = team.client("viewer").post("/api/schemas/infer/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert isinstance(answer.json()["events"], list)
    assert all(isinstance(m, str) for m in answer.json()["events"])


def test_it_names_the_bad_sample_by_index(team: Team) -> None:
    events = [{"event_type": "a"}, {"event_type": "a"}, {"event_type": "Bad Type"}]
    answer = team.client("viewer").post("/api/schemas/infer/", {"events": events}, format="json")
    assert answer.json() == {
        "events": ["Event 2: event_type: Use snake_case (e.g. order_placed), as events do."]
    }


def test_it_validates_a_payload_against_its_types_schema(team: Team) -> None:
    schema_id = _create(team, enforcement="off").json()["id"]
    client = team.client("viewer")
    good = client.post(
        "/api/schemas/validate/", {"event_type": "order_placed", "payload": {"amount": 5}}, format="json"
    )
    assert good.json() == {"valid": True, "errors": [], "schema": schema_id}
    bad = client.post(
        "/api/schemas/validate/",
        {"event_type": "order_placed", "payload": {"coupon": 7, "extra": "fine"}},
        format="json",
    )
    assert bad.json() == {
        "valid": False,
        "errors": [
            {"path": "payload.amount", "message": "Required by the schema, missing."},
            {"path": "payload.coupon", "message": "Must be of type string, not integer."},
        ],
        "schema": schema_id,
    }
    boolean = client.post(
        "/api/schemas/validate/", {"event_type": "order_placed", "payload": {"amount": True}}, format="json"
    )
    assert boolean.json()["errors"] == [
        {"path": "payload.amount", "message": "Must be of type number, not boolean."}
    ]


def test_it_answers_valid_for_a_type_without_a_schema(team: Team) -> None:
    answer = team.client("viewer").post(
        "/api/schemas/validate/", {"event_type": "anything", "payload": {"x": 1}}, format="json"
    )
    assert answer.json() == {"valid": True, "errors": [], "schema": None}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event_type": "order_placed"},
        {"event_type": "order_placed", "payload": [1]},
        {"event_type": 5, "payload": {}},
    ],
)
def test_it_refuses_a_bad_validate_request(team: Team, body: dict[str, Any]) -> None:
    answer = team.client("viewer").post("/api/schemas/validate/", body, format="json")
    assert answer.status_code == 400, answer.content
