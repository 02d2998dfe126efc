"""The seed's walk-through in a real browser: Settings → API Keys → + New Key → Create → Copy;
after a reload only the prefix is left; the key works; the trash icon revokes it at once."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from segops_server.testing.live import LiveServer
from tests.e2e.conftest import screenshot, sign_up_owner

pytestmark = pytest.mark.browser

MEMBERSHIP = "/api/segments/membership/?user_id=u1"


def test_create_copy_use_and_revoke_a_key(page: Page, server: LiveServer) -> None:
    account = sign_up_owner(page, "keys")

    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="API Keys").click()
    expect(page).to_have_url(re.compile(rf"/t/{account.slug}/settings/api-keys/$"))
    expect(page.get_by_text("No keys yet.")).to_be_visible()

    page.get_by_role("link", name="+ New Key").click()
    page.get_by_label("Name").fill("Production Ingestor")
    screenshot(page, "api-keys-new")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("heading", name=re.compile("you will not see it again"))).to_be_visible()
    key = page.locator("#new-key").input_value()
    assert re.fullmatch(r"sk_live_[A-Za-z0-9]+", key), key
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot(page, "api-keys-created")

    page.get_by_role("link", name="Done — back to API Keys").click()
    page.reload()
    row = page.get_by_role("row", name=re.compile("Production Ingestor"))
    expect(row).to_be_visible()
    prefix = row.locator("code.prefix").inner_text()
    assert key.startswith(prefix.removesuffix("…"))
    assert key not in page.content()
    screenshot(page, "api-keys-list")

    used = requests.get(f"{server.url}{MEMBERSHIP}", headers={"Authorization": f"ApiKey {key}"}, timeout=10)
    assert used.status_code == 200, used.text
    assert used.json() == {"user_id": "u1", "segments": []}

    page.get_by_role("button", name="Revoke Production Ingestor").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("stops working at once")
    screenshot(page, "api-keys-revoke-dialog", full_page=False)
    dialog.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(row.get_by_text("Revoked")).to_be_visible()
    expect(page.get_by_role("button", name="Revoke Production Ingestor")).to_have_count(0)

    refused = requests.get(
        f"{server.url}{MEMBERSHIP}", headers={"Authorization": f"ApiKey {key}"}, timeout=10
    )
    assert refused.status_code == 401
    assert refused.json() == {"detail": "API key has been revoked."}


def test_cancel_in_the_dialog_leaves_the_key_alone(page: Page, server: LiveServer) -> None:
    sign_up_owner(page, "cancel")
    page.goto(page.url.replace("/segments/", "/settings/api-keys/new/"))
    page.get_by_label("Name").fill("CI pipeline")
    page.get_by_role("button", name="Create").click()
    key = page.locator("#new-key").input_value()
    page.get_by_role("link", name="Done — back to API Keys").click()
    page.get_by_role("button", name="Revoke CI pipeline").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert requests.get(
        f"{server.url}{MEMBERSHIP}", headers={"Authorization": f"ApiKey {key}"}, timeout=10
    ).ok


def test_roll_with_a_grace_period_shows_the_new_key_once(page: Page, server: LiveServer) -> None:
    sign_up_owner(page, "roll")
    page.goto(page.url.replace("/segments/", "/settings/api-keys/new/"))
    page.get_by_label("Name").fill("Billing worker")
    page.get_by_role("button", name="Create").click()
    old = page.locator("#new-key").input_value()
    page.get_by_role("link", name="Done — back to API Keys").click()

    page.get_by_role("button", name="Roll Billing worker").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Keep the old key working for").select_option(label="3 days")
    screenshot(page, "api-keys-roll-dialog", full_page=False)
    dialog.get_by_role("button", name="Roll key").click()
    expect(page.get_by_role("heading", name=re.compile("you will not see it again"))).to_be_visible()
    new = page.locator("#new-key").input_value()
    assert new != old
    expect(page.get_by_text("keeps working until")).to_be_visible()
    for key in (old, new):
        used = requests.get(
            f"{server.url}{MEMBERSHIP}", headers={"Authorization": f"ApiKey {key}"}, timeout=10
        )
        assert used.status_code == 200


def test_a_public_key_shows_its_hmac_secret_once(page: Page, server: LiveServer) -> None:
    sign_up_owner(page, "public")
    page.goto(page.url.replace("/segments/", "/settings/api-keys/new/"))
    page.get_by_label("Name").fill("Web app")
    expect(page.get_by_label("Allowed origins")).to_be_hidden()  # public-key settings follow the type
    page.get_by_role("radio", name=re.compile(r"Public \(pk_\)")).check()
    expect(page.get_by_label("Allowed origins")).to_be_visible()
    page.get_by_label("Allowed origins").fill("https://app.example.com")
    page.get_by_label("Require signed user_id").check()
    page.get_by_role("button", name="Create").click()
    assert page.locator("#new-key").input_value().startswith("pk_live_")
    secret = page.locator("#hmac-secret").input_value()
    assert re.fullmatch(r"[0-9a-f]{32,}", secret)
    screenshot(page, "api-keys-public-created")
    page.get_by_role("link", name="Done — back to API Keys").click()
    assert secret not in page.content()


def test_the_key_pages_fit_a_phone(page: Page, server: LiveServer) -> None:
    sign_up_owner(page, "phone")
    page.goto(page.url.replace("/segments/", "/settings/api-keys/new/"))
    page.get_by_label("Name").fill("Production Ingestor")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="Done — back to API Keys").click()
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    # Nothing wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="Revoke Production Ingestor")).to_be_visible()
    screenshot(page, "api-keys-list-phone")
