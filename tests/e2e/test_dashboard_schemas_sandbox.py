"""The dashboard with data (desktop and phone width), event schemas from an inferred sample, and
the event sandbox, in a real browser."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from segops_server.testing.live import LiveServer, api_key_issue
from tests.e2e.conftest import Account, bearer, screenshot, sign_up_owner

pytestmark = pytest.mark.browser


def _rule(event_type: str, at_least: int) -> dict[str, Any]:
    return {
        "logic": "AND",
        "conditions": [
            {"type": "event_count", "event_type": event_type, "operator": "gte", "value": at_least}
        ],
    }


def _workspace_with_data(page: Page, server: LiveServer, prefix: str) -> tuple[Account, dict[str, str]]:
    """Events over the last days, and two computed segments sharing members."""
    account = sign_up_owner(page, prefix)
    key = api_key_issue(server, bearer(server, account.email)["Authorization"][7:], account.slug)["key"]
    headers = {"Authorization": f"ApiKey {key}"}
    now = datetime.now(UTC)
    events = [
        {
            "user_id": user,
            "event_type": "order_placed",
            "occurred_at": (now - timedelta(days=days)).isoformat(),
            "payload": {"amount": 10 + days},
        }
        for user, days in (("alice", 1), ("alice", 2), ("bob", 3), ("bob", 5), ("carol", 1), ("dan", 8))
    ]
    sent = requests.post(
        f"{server.url}/api/ingestion/track/batch/", json={"events": events}, headers=headers, timeout=10
    )
    assert sent.status_code == 202, sent.text
    for name, rule in (("Buyers", _rule("order_placed", 1)), ("Repeat buyers", _rule("order_placed", 2))):
        made = requests.post(
            f"{server.url}/api/segments/",
            json={"name": name, "definition": rule},
            headers=headers,
            timeout=10,
        )
        assert made.status_code == 201, made.text
        segment = made.json()["id"]
        computed = requests.post(f"{server.url}/api/segments/{segment}/compute/", headers=headers, timeout=10)
        assert computed.status_code in (200, 202), computed.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = requests.get(f"{server.url}/api/segments/{segment}/", headers=headers, timeout=10).json()
            if state["status"] == "computed":
                break
            time.sleep(0.3)
        assert state["status"] == "computed", state
    return account, headers


def test_the_dashboard_with_data_at_desktop_and_phone_width(page: Page, server: LiveServer) -> None:
    account, _ = _workspace_with_data(page, server, "dash")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(rf"/t/{account.slug}/$"))
    expect(page.locator("#figure-segments")).to_have_text("2")
    expect(page.locator("#figure-members")).to_have_text("6")  # 4 buyers + 2 repeat buyers
    expect(page.locator("#figure-events")).to_have_text("6")
    events_chart = page.get_by_role("img", name="Events per day over the last 30 days")
    expect(events_chart).to_be_visible()
    expect(events_chart.locator("rect.bar")).to_have_count(5)  # days 1, 2, 3, 5 and 8 ago
    overlap = page.get_by_role("row", name=re.compile("Buyers.*Repeat buyers"))
    expect(overlap).to_contain_text("100.0 %")
    # One compute so far: a size for one day, said in words until there are two.
    expect(page.get_by_text("a line appears once a segment has sizes for two days")).to_be_visible()
    screenshot(page, "dashboard")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    box = events_chart.bounding_box()
    assert box is not None
    assert 0 < box["width"] <= 390, box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width} px)"
    screenshot(page, "dashboard-phone")


def test_the_dashboard_says_when_there_is_nothing_yet(page: Page, server: LiveServer) -> None:
    account = sign_up_owner(page, "empty")
    page.goto(f"/t/{account.slug}/")
    expect(page.get_by_text("No segments yet.")).to_be_visible()
    expect(page.get_by_text("No events in the last 30 days.")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(0)
    screenshot(page, "dashboard-empty")


def test_a_schema_from_an_inferred_sample(page: Page, server: LiveServer) -> None:
    account = sign_up_owner(page, "schemas")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Schemas").click()
    expect(page.get_by_text("No event schemas yet")).to_be_visible()
    page.get_by_role("link", name="+ New schema").click()
    samples = [
        {"event_type": "order_placed", "payload": {"amount": 30, "currency": "EUR"}},
        {"event_type": "order_placed", "payload": {"amount": 12.5}},
    ]
    page.get_by_label("Samples").fill(json.dumps(samples))
    page.get_by_role("button", name="Infer properties").click()
    expect(page.get_by_label("Type of amount")).to_have_value("number")
    expect(page.get_by_label("amount is required")).to_be_checked()
    expect(page.get_by_label("currency is required")).not_to_be_checked()
    page.get_by_label("Reject — refused at ingestion").check()
    screenshot(page, "schemas-review")
    page.get_by_role("button", name="Save schema").click()

    expect(page.get_by_role("status")).to_contain_text("The schema of order_placed is saved.")
    expect(page.get_by_role("heading", name="Schema of order_placed")).to_be_visible()
    # Ingestion now refuses an order without an amount.
    key = api_key_issue(server, bearer(server, account.email)["Authorization"][7:], account.slug)["key"]
    refused = requests.post(
        f"{server.url}/api/ingestion/track/",
        json={"user_id": "u1", "event_type": "order_placed", "payload": {"currency": "EUR"}},
        headers={"Authorization": f"ApiKey {key}"},
        timeout=10,
    )
    assert refused.status_code == 400, refused.text

    page.get_by_label("Enforcement").select_option("warn")
    page.get_by_role("button", name="Change enforcement").click()
    expect(page.get_by_role("status")).to_contain_text("is now Warn")
    page.get_by_role("link", name="← All schemas").click()
    row = page.get_by_role("row", name=re.compile("order_placed"))
    expect(row).to_contain_text("Warn")
    screenshot(page, "schemas-list")

    row.get_by_role("link", name="order_placed").click()
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete the schema of order_placed?")).to_be_visible()
    screenshot(page, "schemas-delete")
    page.get_by_role("button", name="Delete schema").click()
    expect(page.get_by_text("No event schemas yet")).to_be_visible()


def test_the_sandbox_shows_what_an_event_would_change(page: Page, server: LiveServer) -> None:
    account, _ = _workspace_with_data(page, server, "sandbox")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Explorer").click()
    page.get_by_role("link", name="Event sandbox").click()
    page.get_by_label("User id").fill("carol")  # one order so far: a buyer, not yet a repeat buyer
    page.get_by_label("Event type").fill("order_placed")
    page.get_by_label("Payload").fill('{"amount": 40}')
    page.get_by_role("button", name="Try the event").click()
    expect(page.locator("#entered")).to_have_text("Repeat buyers")
    expect(page.locator("#exited")).to_have_text("None")
    expect(page.locator("#unchanged")).to_have_text("1 segment")
    screenshot(page, "sandbox-result")
    # Nothing was stored: the same question gives the same answer.
    page.get_by_role("button", name="Try the event").click()
    expect(page.locator("#entered")).to_have_text("Repeat buyers")
    assert account.slug in page.url


def test_an_owner_merges_two_users_after_being_asked(page: Page, server: LiveServer) -> None:
    _workspace_with_data(page, server, "merge")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Explorer").click()
    page.get_by_role("link", name="Merge users").click()
    page.get_by_label("Merge this user").fill("carol")
    page.get_by_label("into this user").fill("alice")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#merge-confirm")).to_contain_text("Merge carol into alice?")
    screenshot(page, "merge-confirm")
    page.get_by_role("button", name="Merge users").click()
    expect(page.locator("#merge-result")).to_contain_text("carol now counts for alice")
    screenshot(page, "merge-result")
    page.locator("#merge-result").get_by_role("link", name="alice").click()
    expect(page.get_by_text("carol").first).to_be_visible()  # the surviving user lists the merged id
