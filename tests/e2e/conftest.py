"""End-to-end console tests: Debian's Chromium, driven by Playwright, against `segops run`.

Playwright never downloads a browser here (`playwright install` is not run): it launches the
system's /usr/bin/chromium. Without it the tests fail on CI and are skipped elsewhere, with a
message saying how to install it (scripts/test installs it when it can).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from segops_server.testing.live import LiveServer, live_database, live_server_start

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "correct-horse-battery-staple"
TIMEOUT_MS = 15_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)."
    if os.environ.get("CI") == "true":
        pytest.fail(message + " CI must run the browser tests, not skip them.", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _require_chromium()
    data_dir = tmp_path_factory.mktemp("e2e")
    with live_database(data_dir) as database_url:
        live = live_server_start(data_dir=data_dir, database_url=database_url, workers=2)
        try:
            yield live
        finally:
            live.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Module scope: Playwright's sync API keeps an event loop, which must not outlive these tests.
    _require_chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []

    # A Content-Security-Policy violation or a script error shows up in the console: fail on it.
    def on_console(message: ConsoleMessage) -> None:
        # An answer of 403 or 404 to a navigation is logged too; it is what some tests expect.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(f"{message.text} @ {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert errors == [], errors


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Saved as artifacts/screenshots/<name>.png. The SQLite and PostgreSQL passes run side by side
    (scripts/test) and take the same screenshots: each is written whole, then renamed into place."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    partial = SCREENSHOTS / f".{name}.{os.getpid()}.png"
    partial.write_bytes(page.screenshot(full_page=full_page))
    partial.replace(path)
    return path


@dataclass
class Account:
    email: str
    slug: str


def new_slug(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def sign_up(page: Page, *, email: str, slug: str | None) -> None:
    """Through the pages, as a person does: / → sign in → Create an account → Sign up."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in/$"))
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if slug is not None:
        page.get_by_label("Workspace name").fill(slug.replace("-", " ").title())
        page.get_by_label("Workspace slug").fill(slug)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def sign_up_owner(page: Page, prefix: str) -> Account:
    slug = new_slug(prefix)
    account = Account(email=f"owner@{slug}.test", slug=slug)
    sign_up(page, email=account.email, slug=slug)
    expect(page).to_have_url(re.compile(rf"/t/{slug}/$"))  # the dashboard
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Segments").click()
    expect(page).to_have_url(re.compile(rf"/t/{slug}/segments/$"))
    return account


def bearer(server: LiveServer, email: str) -> dict[str, str]:
    response = requests.post(
        f"{server.url}/api/auth/token/", json={"email": email, "password": PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access']}"}
