"""Settings → Webhooks in a real browser: add a webhook pointing at a local receiver, copy its
secret once, press Send test, and see the ping in the webhook's deliveries.

The server runs with SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS=1 (a receiver on 127.0.0.1 over http is
refused otherwise). The ping row shows at once as Pending; the server's worker then sends it,
the receiver gets the signed ping and the row turns Succeeded.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from segops_server.testing.live import LiveServer, live_database, live_server_start
from tests.e2e.conftest import screenshot, sign_up_owner

pytestmark = pytest.mark.browser


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[bytes] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/segops"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own server: the one the other browser tests share refuses private URLs."""
    data_dir = tmp_path_factory.mktemp("e2e-webhooks")
    with live_database(data_dir) as database_url:
        live = live_server_start(
            data_dir=data_dir,
            database_url=database_url,
            workers=1,
            env={"SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS": "1"},
        )
        try:
            yield live
        finally:
            live.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.shutdown()
    receiver.server_close()


def test_add_a_webhook_send_a_test_and_see_the_delivery(
    page: Page, server: LiveServer, receiver: Receiver
) -> None:
    account = sign_up_owner(page, "hooks")

    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Webhooks").click()
    expect(page).to_have_url(re.compile(rf"/t/{account.slug}/settings/webhooks/$"))
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()

    page.get_by_role("link", name="+ Add Webhook").click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description (optional)").fill("Local receiver")
    screenshot(page, "webhooks-new")
    page.get_by_role("button", name="Add webhook").click()

    expect(page.get_by_role("heading", name=re.compile("you will not see it again"))).to_be_visible()
    secret = page.locator("#webhook-secret").input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret), secret
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "webhooks-created")

    page.get_by_role("link", name="Done — go to the webhook").click()
    expect(page.get_by_role("heading", name=re.compile("Webhook"))).to_contain_text(receiver.url)
    assert secret not in page.content()
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()

    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text("test ping is queued")
    row = page.locator("table.deliveries tbody tr").first
    expect(row).to_contain_text("ping")
    expect(row.locator("code").last).to_have_text(re.compile(r"^msg_"))
    expect(row.get_by_text(re.compile("Pending|Succeeded"))).to_be_visible()
    expect(row.get_by_role("button", name=re.compile(r"Redeliver delivery \d+"))).to_be_visible()
    screenshot(page, "webhooks-deliveries")

    # The server's worker sends it: the receiver gets it and the row says so.
    deadline = time.monotonic() + 30
    while not receiver.bodies and time.monotonic() < deadline:
        time.sleep(0.2)
    assert receiver.bodies, "the ping never reached the receiver"
    assert b'"event":"ping"' in receiver.bodies[0]
    page.reload()
    expect(page.locator("table.deliveries tbody tr").first.get_by_text("Succeeded")).to_be_visible()
    screenshot(page, "webhooks-delivered")

    page.get_by_role("link", name="← Webhooks").click()
    listed = page.get_by_role("row", name=receiver.url)
    expect(listed).to_contain_text("Active")
    expect(listed).to_contain_text("segment.recomputed")
    screenshot(page, "webhooks-list")
