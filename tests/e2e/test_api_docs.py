"""The Swagger UI at /api/docs/ renders the API under the console's Content-Security-Policy: every
file from this server, no policy violation or script error (the `page` fixture fails on those)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from segops_server.testing.live import LiveServer

pytestmark = pytest.mark.browser


def test_it_renders_the_api_from_our_own_files(page: Page, server: LiveServer) -> None:
    hosts: set[str] = set()

    def on_request(request: Request) -> None:
        hosts.add(urlsplit(request.url).netloc)

    page.on("request", on_request)
    response = page.goto("/api/docs/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("SegOps API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    assert hosts == {urlsplit(server.url).netloc}
