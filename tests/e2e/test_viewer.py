"""A Viewer, invited through Settings → Team and joining through the invitation link, sees no
create/revoke/roll/invite controls, and the server refuses those actions anyway when they are
sent by hand from the same browser session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from segops_server.testing.live import LiveServer
from tests.e2e.conftest import PASSWORD, screenshot, sign_up_owner

pytestmark = pytest.mark.browser


def test_a_viewer_sees_no_controls_and_is_refused(page: Page, browser: Browser, server: LiveServer) -> None:
    account = sign_up_owner(page, "viewer")
    base = f"/t/{account.slug}"
    # The owner makes a key and invites a viewer who has no account yet.
    page.goto(f"{base}/settings/api-keys/new/")
    page.get_by_label("Name").fill("Production Ingestor")
    page.get_by_role("button", name="Create").click()
    page.goto(f"{base}/settings/team/")
    viewer_email = f"viewer@{account.slug}.test"
    page.get_by_label("Email").fill(viewer_email)
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("heading", name=re.compile("is invited as Viewer"))).to_be_visible()
    link = page.locator("#invite-link").input_value()  # also emailed; shown to the inviter once

    context = browser.new_context(base_url=server.url)
    viewer = context.new_page()
    try:
        # The link, opened signed out: sign-in, Create an account, then back to the offer.
        viewer.goto(link)
        expect(viewer).to_have_url(re.compile(r"/sign-in/\?next="))
        viewer.get_by_role("link", name="Create an account").click()
        viewer.get_by_label("Email").fill(viewer_email)
        viewer.get_by_label("Password").fill(PASSWORD)
        viewer.get_by_role("button", name="Sign up").click()
        expect(viewer.get_by_role("heading", name=re.compile("^Join "))).to_be_visible()
        viewer.get_by_role("button", name=re.compile("^Join ")).click()  # joining takes consent
        expect(viewer).to_have_url(re.compile(rf"{base}/$"))  # the dashboard
        expect(viewer.locator(".switcher summary")).to_contain_text("(Viewer)")
        expect(viewer.get_by_role("link", name="+ New Segment")).to_have_count(0)

        viewer.goto(f"{base}/settings/team/")
        expect(viewer.get_by_text(account.email)).to_be_visible()
        expect(viewer.get_by_role("button", name="Invite")).to_have_count(0)
        expect(viewer.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
        expect(viewer.get_by_role("link", name="API Keys")).to_have_count(0)

        response = viewer.goto(f"{base}/settings/api-keys/")
        assert response is not None
        assert response.status == 403
        expect(viewer.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(viewer.get_by_role("link", name="+ New Key")).to_have_count(0)
        expect(viewer.get_by_role("button", name=re.compile("^(Revoke|Roll) "))).to_have_count(0)
        expect(viewer.get_by_text("Production Ingestor")).to_have_count(0)
        screenshot(viewer, "api-keys-viewer")

        # Sent by hand with the viewer's own session and CSRF token: still refused.
        token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        headers = {"X-CSRFToken": token, "Referer": server.url + "/"}
        for url, form in [
            (f"{base}/settings/api-keys/new/", {"name": "Sneaky", "type": "secret", "environment": "live"}),
            (f"{base}/settings/api-keys/1/revoke/", {}),
            (f"{base}/settings/api-keys/1/roll/", {"grace_period_hours": "0"}),
            (f"{base}/settings/team/invite/", {"email": "friend@example.com", "role": "admin"}),
            (f"{base}/segments/new/", {"name": "S", "action": "save"}),
        ]:
            refused = context.request.post(url, form=form, headers=headers, max_redirects=0)
            assert refused.status == 403, (url, refused.status)
    finally:
        context.close()

    # The owner's list still shows the key active, and no second key appeared.
    page.goto(f"{base}/settings/api-keys/")
    expect(page.get_by_role("row", name=re.compile("Production Ingestor"))).to_have_count(1)
    expect(page.get_by_role("row", name=re.compile("Production Ingestor"))).to_contain_text("Active")
    expect(page.get_by_role("row", name=re.compile("Sneaky"))).to_have_count(0)
