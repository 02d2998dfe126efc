"""Plan limits: events a month for ingestion, calls a minute elsewhere, Enterprise unlimited."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.accounts.models import Tenant
from segops_server.accounts.plans import PLANS, Plan, PlanName
from segops_server.ingestion.tests.helpers import BATCH, TRACK, USERS, event, stored_events, user_url
from segops_server.testing.factories import Team, make_tenant


def _set_plan(tenant: Tenant, plan: PlanName) -> None:
    tenant.plan = plan
    tenant.save(update_fields=["plan"])


@pytest.fixture
def small_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Free allows 10 events a month and 3 calls a minute (the real numbers are 500,000 and 60)."""
    monkeypatch.setitem(PLANS, PlanName.FREE, Plan(events_per_month=10, calls_per_minute=3))
    monkeypatch.setitem(PLANS, PlanName.STARTER, Plan(events_per_month=10, calls_per_minute=3))
    monkeypatch.setitem(PLANS, PlanName.BUSINESS, Plan(events_per_month=10, calls_per_minute=3))


def test_it_has_the_documented_plan_limits() -> None:
    documented = {
        PlanName.FREE: Plan(events_per_month=500_000, calls_per_minute=60),
        PlanName.STARTER: Plan(events_per_month=5_000_000, calls_per_minute=300),
        PlanName.BUSINESS: Plan(events_per_month=50_000_000, calls_per_minute=1_000),
        PlanName.ENTERPRISE: Plan(events_per_month=None, calls_per_minute=None),
    }
    assert documented == PLANS


@pytest.mark.usefixtures("small_plans")
def test_it_answers_429_with_retry_after_once_the_monthly_events_are_used(
    team: Team, ingest: APIClient
) -> None:
    _set_plan(team.tenant, PlanName.FREE)
    assert (
        ingest.post(
            BATCH, {"events": [event(payload={"seq": i}) for i in range(9)]}, format="json"
        ).status_code
        == 202
    )
    assert ingest.post(TRACK, event(payload={"seq": 9}), format="json").status_code == 202

    single = ingest.post(TRACK, event(payload={"seq": 10}), format="json")
    batch = ingest.post(BATCH, {"events": [event(payload={"seq": 11})]}, format="json")

    for response in (single, batch):
        assert response.status_code == 429
        assert "10 events a month" in response.json()["detail"]
        # Until the first of next month: at most 31 days away, more than a second.
        assert 1 <= int(response.headers["Retry-After"]) <= 31 * 86400 + 1
    assert sorted(e.payload["seq"] for e in stored_events(team.tenant)) == list(range(10))


@pytest.mark.usefixtures("small_plans")
def test_it_refuses_a_whole_batch_that_would_go_over_the_monthly_events(
    team: Team, ingest: APIClient
) -> None:
    _set_plan(team.tenant, PlanName.FREE)
    ingest.post(BATCH, {"events": [event() for _ in range(8)]}, format="json")

    over = ingest.post(BATCH, {"events": [event() for _ in range(3)]}, format="json")
    fits = ingest.post(BATCH, {"events": [event() for _ in range(2)]}, format="json")

    assert (over.status_code, fits.status_code) == (429, 202)
    assert len(stored_events(team.tenant)) == 10


@pytest.mark.usefixtures("small_plans")
def test_it_does_not_count_skipped_events_against_the_quota(team: Team, ingest: APIClient) -> None:
    _set_plan(team.tenant, PlanName.FREE)
    events = [event() for _ in range(10)] + [event(event_type="Bad Type") for _ in range(5)]

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    assert response.json()["skipped"] == 5


@pytest.mark.usefixtures("small_plans")
def test_it_counts_events_per_tenant(team: Team, ingest: APIClient, globex_ingest: APIClient) -> None:
    _set_plan(team.tenant, PlanName.FREE)
    _set_plan(team.other_tenant, PlanName.FREE)
    ingest.post(BATCH, {"events": [event() for _ in range(10)]}, format="json")

    response = globex_ingest.post(BATCH, {"events": [event() for _ in range(10)]}, format="json")

    assert response.status_code == 202


@pytest.mark.usefixtures("small_plans")
@pytest.mark.parametrize("url", [USERS, user_url("u-1"), user_url("u-1", "events/")])
def test_it_answers_429_with_retry_after_over_the_calls_a_minute(
    team: Team, ingest: APIClient, viewer: APIClient, url: str
) -> None:
    _set_plan(team.tenant, PlanName.FREE)
    ingest.post(TRACK, event("u-1"), format="json")

    statuses = [viewer.get(url).status_code for _ in range(3)]
    over = viewer.get(url)

    assert statuses == [200, 200, 200]
    assert over.status_code == 429
    assert "3 API calls a minute" in over.json()["detail"]
    assert 1 <= int(over.headers["Retry-After"]) <= 61


@pytest.mark.usefixtures("small_plans")
def test_it_counts_calls_per_tenant_across_people_and_keys(team: Team, ingest: APIClient) -> None:
    _set_plan(team.tenant, PlanName.FREE)

    statuses = [team.client(who).get(USERS).status_code for who in ("owner", "viewer", "member", "admin")]

    assert statuses == [200, 200, 200, 429]
    assert ingest.get(USERS).status_code == 429
    assert team.client("outsider").get(USERS).status_code == 200


@pytest.mark.usefixtures("small_plans")
def test_it_does_not_count_ingestion_requests_as_calls(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    _set_plan(team.tenant, PlanName.FREE)

    statuses = [ingest.post(TRACK, event(), format="json").status_code for _ in range(5)]

    assert statuses == [202] * 5
    assert viewer.get(USERS).status_code == 200


@pytest.mark.usefixtures("small_plans")
def test_it_never_limits_enterprise(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    _set_plan(team.tenant, PlanName.ENTERPRISE)

    ingested = [
        ingest.post(BATCH, {"events": [event() for _ in range(500)]}, format="json") for _ in range(3)
    ]
    calls = [viewer.get(USERS).status_code for _ in range(70)]

    assert [r.status_code for r in ingested] == [202, 202, 202]
    assert set(calls) == {200}
    assert len(stored_events(team.tenant)) == 1500


@pytest.mark.parametrize("plan", list(PlanName))
def test_it_gives_new_tenants_the_configured_default_plan(db: None, settings: Any, plan: PlanName) -> None:
    settings.SEGOPS_DEFAULT_PLAN = plan.value

    assert make_tenant().plan == plan.value


@pytest.mark.parametrize("plan", [PlanName.FREE, PlanName.STARTER])
def test_it_puts_a_signed_up_tenant_on_the_default_plan(db: None, settings: Any, plan: PlanName) -> None:
    settings.SEGOPS_DEFAULT_PLAN = plan.value
    body = {
        "email": "founder@initech.test",
        "password": "a-long-enough-passphrase-9",
        "tenant_name": "Initech",
        "tenant_slug": "initech",
    }

    response = APIClient().post("/api/auth/register/", body, format="json")

    assert response.status_code == 201
    assert Tenant.objects.get(slug="initech").plan == plan.value
