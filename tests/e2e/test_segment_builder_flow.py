"""Build a two-condition segment in the rule builder, preview it, save it, recompute it, and
watch the member count arrive once the progress indication ends (the real task worker runs it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from segops_server.testing.live import LiveServer, api_key_issue
from tests.e2e.conftest import bearer, screenshot, sign_up_owner

pytestmark = pytest.mark.browser


def _send_events(server: LiveServer, key: str) -> None:
    """alice: 2 orders, plan pro · bob: 2 orders, plan free · carol: 1 order, plan pro."""
    now = datetime.now(UTC)

    def at(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    events = [
        {"user_id": "alice", "event_type": "order_placed", "occurred_at": at(1), "payload": {"amount": 30}},
        {"user_id": "alice", "event_type": "order_placed", "occurred_at": at(2), "payload": {"amount": 20}},
        {
            "user_id": "alice",
            "event_type": "context_identified",
            "occurred_at": at(3),
            "payload": {"plan": "pro"},
        },
        {"user_id": "bob", "event_type": "order_placed", "occurred_at": at(3), "payload": {"amount": 5}},
        {"user_id": "bob", "event_type": "order_placed", "occurred_at": at(4), "payload": {"amount": 5}},
        {
            "user_id": "bob",
            "event_type": "context_identified",
            "occurred_at": at(5),
            "payload": {"plan": "free"},
        },
        {"user_id": "carol", "event_type": "order_placed", "occurred_at": at(1), "payload": {"amount": 100}},
        {
            "user_id": "carol",
            "event_type": "context_identified",
            "occurred_at": at(2),
            "payload": {"plan": "pro"},
        },
    ]
    response = requests.post(
        f"{server.url}/api/ingestion/track/batch/",
        json={"events": events},
        headers={"Authorization": f"ApiKey {key}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    assert response.json()["queued"] == len(events)


def test_build_preview_save_and_recompute_a_segment(page: Page, server: LiveServer) -> None:
    account = sign_up_owner(page, "seg")
    issued = api_key_issue(server, bearer(server, account.email)["Authorization"][7:], account.slug)
    _send_events(server, issued["key"])

    page.get_by_role("link", name="+ New Segment").click()
    page.get_by_label("Name").fill("Pro repeat buyers")
    # Row 1: event_count — order_placed ≥ 2.
    first = page.locator('[data-path="r.0"]')
    expect(first.get_by_label("Condition", exact=True)).to_have_value("event_count")
    first.get_by_label("Event type", exact=True).fill("order_placed")
    first.get_by_label("Operator", exact=True).select_option("gte")
    first.get_by_label("Value", exact=True).fill("2")
    # + Condition: htmx posts the form and draws the builder again with a second row.
    page.get_by_role("button", name="+ Condition").click()
    second = page.locator('[data-path="r.1"]')
    expect(second).to_be_visible()
    expect(first.get_by_label("Event type", exact=True)).to_have_value(
        "order_placed"
    )  # kept across the redraw
    # Row 2: user_property — plan = pro; its fields follow the chosen type.
    expect(second.get_by_label("Property", exact=True)).to_have_count(0)
    second.get_by_label("Condition", exact=True).select_option("user_property")
    expect(second.get_by_label("Property", exact=True)).to_be_visible()
    expect(second.get_by_label("Event type", exact=True)).to_have_count(0)
    second.get_by_label("Property", exact=True).fill("plan")
    second.get_by_label("Operator", exact=True).select_option("eq")
    second.get_by_label("Value", exact=True).fill("pro")

    page.get_by_role("button", name="Preview").click()
    matched = page.locator("#preview [data-matched]")
    expect(matched).to_have_text("1")
    expect(page.locator("#preview")).to_contain_text("alice")
    page.locator("#preview summary").click()
    expect(page.locator("#preview pre")).to_contain_text("SELECT")
    screenshot(page, "segment-rule-builder")

    # The AND/OR toggle: ANY of the two matches alice, bob and carol.
    page.locator('label:has(input[name="r-logic"][value="OR"])').click()
    page.get_by_role("button", name="Preview").click()
    expect(matched).to_have_text("3")
    page.locator('label:has(input[name="r-logic"][value="AND"])').click()

    page.get_by_role("button", name="Save Definition").click()
    expect(page.get_by_role("heading", name="Pro repeat buyers")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("saved as version 1")
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "draft")

    page.get_by_role("button", name="Recompute").click()
    # The progress indication: the card says "computing" and asks for itself again every second.
    expect(page.locator("#compute-status progress")).to_be_visible()
    expect(page.locator("#compute-status")).to_have_attribute("hx-trigger", "every 1s")
    # The status card polls every second until the worker is done; then the count shows.
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "computed", timeout=60_000)
    expect(page.locator("[data-member-count]")).to_have_text("1")
    expect(page.locator("#compute-status progress")).to_have_count(0)
    screenshot(page, "segment-computed")

    # Export: the card polls while the worker writes the file, then offers it for download.
    page.get_by_role("button", name="Export CSV").click()
    download_link = page.get_by_role("link", name="Download CSV")
    expect(download_link).to_be_visible(timeout=60_000)
    expect(page.locator("#export")).to_contain_text("1 member")
    screenshot(page, "segment-export")
    with page.expect_download() as downloaded:
        download_link.click()
    lines = Path(downloaded.value.path()).read_text().splitlines()
    assert lines[0] == "user_id,computed_at"
    assert [line.split(",")[0] for line in lines[1:]] == ["alice"]
    assert downloaded.value.suggested_filename.endswith("-members.csv")

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name=re.compile("Version 1"))).to_be_visible()
    page.get_by_role("link", name="Segments").first.click()
    row = page.get_by_role("row", name=re.compile("Pro repeat buyers"))
    expect(row).to_contain_text("Computed")
    expect(row).to_contain_text("1")

    # The delivery API agrees, and the explorer shows alice in it.
    membership = requests.get(
        f"{server.url}/api/segments/membership/?user_id=alice",
        headers={"Authorization": f"ApiKey {issued['key']}"},
        timeout=10,
    ).json()
    assert [s["name"] for s in membership["segments"]] == ["Pro repeat buyers"]
    page.get_by_role("link", name="Explorer").click()
    page.get_by_label("User id").fill("ali")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("link", name="alice").click()
    expect(page.get_by_text("Pro repeat buyers")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("pro")
    screenshot(page, "explorer-user")


def test_a_nested_group_and_removing_rows(page: Page, server: LiveServer) -> None:
    sign_up_owner(page, "nest")
    page.get_by_role("link", name="+ New Segment").click()
    page.get_by_role("button", name="+ Group").first.click()
    group = page.get_by_role("group", name="Group r.1")
    expect(group).to_be_visible()
    expect(group.locator('[data-path="r.1.0"]')).to_be_visible()
    group.get_by_role("button", name="+ Condition").click()
    expect(group.locator('[data-path="r.1.1"]')).to_be_visible()
    page.get_by_role("button", name="Remove condition r.1.0").click()
    expect(page.locator('[data-path="r.1.1"]')).to_have_count(0)
    expect(page.locator('[data-path="r.1.0"]')).to_be_visible()
    page.get_by_role("button", name="Remove group r.1").click()
    expect(page.get_by_role("group", name="Group r.1")).to_have_count(0)
    screenshot(page, "segment-builder-after-remove")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="+ Group").first.click()
    expect(page.get_by_role("group", name="Group r.1")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits a phone
    screenshot(page, "segment-builder-phone")
