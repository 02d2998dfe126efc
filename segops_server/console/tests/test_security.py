"""The console's browser protections: CSP, CSRF, cookies, no inline script, a page for phones."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from segops_server.console.middleware import POLICY
from segops_server.console.tests.conftest import ConsoleFor, signed_in
from segops_server.testing.factories import PASSWORD, Team

PAGES = [
    "/t/acme/segments/",
    "/t/acme/segments/new/",
    "/t/acme/explorer/",
    "/t/acme/settings/general/",
    "/t/acme/settings/team/",
    "/t/acme/settings/api-keys/",
    "/t/acme/settings/api-keys/new/",
    "/t/acme/settings/audit-log/",
]


@pytest.mark.parametrize("url", PAGES)
def test_it_sends_the_content_security_policy_on_every_page(console: ConsoleFor, url: str) -> None:
    response = console("owner").get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert policy == POLICY
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_it_sends_the_policy_on_sign_in_and_error_pages_too(team: Team, console: ConsoleFor) -> None:
    assert Client().get("/sign-in/")["Content-Security-Policy"] == POLICY
    assert console("outsider").get("/t/acme/segments/")["Content-Security-Policy"] == POLICY
    assert console("viewer").get("/t/acme/settings/api-keys/")["Content-Security-Policy"] == POLICY


def test_it_leaves_the_api_alone(db: None) -> None:
    assert "Content-Security-Policy" not in Client().get("/api/schema/")
    assert "Content-Security-Policy" not in Client().get("/healthz")


@pytest.mark.parametrize("url", ["/sign-in/", "/sign-up/", *PAGES])
def test_it_has_no_inline_script_or_style_and_fits_a_phone(console: ConsoleFor, url: str) -> None:
    html = console("owner").get(url).content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts, "htmx and console.js are loaded"
    assert all('src="/static/console/' in attrs for attrs in scripts)
    assert "<style" not in html
    assert " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no onclick= and the like


def test_it_refuses_a_post_without_the_csrf_token(team: Team) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.admin)
    response = client.post("/t/acme/settings/team/invite/", {"email": "x@acme.test", "role": "viewer"})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    page = client.get("/t/acme/settings/team/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    ok = client.post(
        "/t/acme/settings/team/invite/",
        {"email": "x@acme.test", "role": "viewer", "csrfmiddlewaretoken": token.group(1).decode()},
    )
    assert ok.status_code == 201


def test_it_refuses_a_sign_in_without_the_csrf_token(team: Team) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/sign-in/", {"email": "owner@acme.test", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_it_gives_htmx_the_csrf_token_in_a_header(team: Team) -> None:
    html = signed_in(team.owner).get("/t/acme/segments/").content.decode()
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]+\"\}'", html)


def test_it_tells_htmx_not_to_eval_or_keep_history(team: Team) -> None:
    html = signed_in(team.owner).get("/t/acme/segments/").content.decode()
    assert '"allowEval": false' in html
    assert '"historyEnabled": false' in html
    assert '"includeIndicatorStyles": false' in html
    assert '"attributesToSettle": ["class", "width", "height"]' in html  # never a style attribute


def test_it_has_htmx_wire_up_swapped_content_in_the_same_step() -> None:
    # htmx attaches triggers to new content when it settles; with a delay, a select changed in
    # a freshly drawn builder row would send nothing.
    html = Client().get("/sign-in/").content.decode()
    assert '"defaultSettleDelay": 0' in html


def test_it_keeps_the_session_cookie_away_from_scripts(team: Team) -> None:
    client = Client()
    response = client.post("/sign-in/", {"email": "owner@acme.test", "password": PASSWORD})
    assert response.cookies["sessionid"]["httponly"] is True
    assert response.cookies["sessionid"]["samesite"] == "Lax"


def test_it_marks_cookies_secure_in_production(tmp_path: Path) -> None:
    """Settings are read once per process, so a production process is started to read them."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SEGOPS_")},
        "SEGOPS_ENV": "production",
        "SEGOPS_DATA_DIR": str(tmp_path),
        "SEGOPS_SECRET_KEY": "k" + "3f9a7c1e5b2d8f4a6c0e9b7d5f3a1c8e" * 2,
        "SEGOPS_JWT_SIGNING_KEY": "j" + "8e1c3a5f7d9b2e4c6a8f0d2b4e6c8a1f" * 2,
        "DJANGO_SETTINGS_MODULE": "segops_server.settings",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "True", "True"]
