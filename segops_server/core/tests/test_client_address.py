"""One client address everywhere: audit entries, sign-in and sign-up throttles and /metrics read
X-Forwarded-For only from a proxy in SEGOPS_FORWARDED_ALLOW_IPS, the one proxy-trust setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from segops_server.audit.models import AuditEvent
from segops_server.audit.services import client_ip
from segops_server.core.proxy import client_address
from segops_server.testing.factories import PASSWORD, Team

CLIENT = "203.0.113.7"
PROXY = "127.0.0.1"  # SEGOPS_FORWARDED_ALLOW_IPS's default: a proxy on this machine
OUTSIDE = "198.51.100.4"
ROOT = Path(__file__).resolve().parents[3]


def _login(password: str, **meta: str) -> int:
    body = {"email": "member@acme.test", "password": password}
    status: int = APIClient().post("/api/auth/token/", body, format="json", **meta).status_code
    return status


def test_it_audits_the_client_behind_a_trusted_proxy(team: Team) -> None:
    assert _login(PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT) == 200
    event = AuditEvent.objects.for_tenant(team.tenant).filter(action="auth.login").latest("pk")
    assert event.client_ip == CLIENT


def test_it_audits_the_peer_when_the_peer_is_not_a_trusted_proxy(team: Team) -> None:
    assert _login(PASSWORD, REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR=CLIENT) == 200
    event = AuditEvent.objects.for_tenant(team.tenant).filter(action="auth.login").latest("pk")
    assert event.client_ip == OUTSIDE


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ADDRESS=2, SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=100)
def test_it_throttles_sign_ins_by_the_same_address(team: Team) -> None:
    # Two clients behind one proxy are two addresses; a forged header from outside is not.
    for _ in range(2):
        assert _login("a-wrong-password", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT) == 401
    assert _login(PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT) == 429
    assert _login(PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.8") == 200
    for _ in range(2):
        _login("a-wrong-password", REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert _login(PASSWORD, REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="203.0.113.51") == 429


def test_it_gives_audit_and_metrics_the_same_address() -> None:
    for meta in (
        {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"10.9.9.9, {CLIENT}"},
        {"REMOTE_ADDR": OUTSIDE, "HTTP_X_FORWARDED_FOR": CLIENT},
        {"REMOTE_ADDR": PROXY},
    ):
        request = RequestFactory().get("/", **meta)
        assert client_ip(request) == client_address(request)
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)) == CLIENT


@pytest.mark.parametrize(("value", "starts"), [("0", True), ("2", False)])
def test_it_refuses_to_start_with_the_retired_proxy_count(value: str, starts: bool) -> None:
    env = {**os.environ, "SEGOPS_NUM_PROXIES": value, "DJANGO_SETTINGS_MODULE": "segops_server.settings"}
    code = "import django; django.setup()"
    argv = [sys.executable, "-c", code]  # our interpreter, a fixed snippet
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode == 0) is starts
    if not starts:
        assert "SEGOPS_FORWARDED_ALLOW_IPS" in done.stderr
