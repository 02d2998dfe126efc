"""POST /api/auth/password/ is throttled like sign-in: per account and per client address."""

from __future__ import annotations

from typing import Any

from django.test import override_settings
from rest_framework.test import APIClient

from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import PASSWORD, Team

URL = "/api/auth/password/"
NEW_PASSWORD = "tangerine-sunset-over-9-hills"


def _change(access: str, current: str) -> Any:
    body = {"current_password": current, "new_password": NEW_PASSWORD}
    return APIClient().post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {access}")


def _login(email: str, password: str) -> Any:
    return APIClient().post("/api/auth/token/", {"email": email, "password": password}, format="json")


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=3)
def test_it_refuses_the_right_password_after_too_many_wrong_ones(team: Team) -> None:
    access = token_pair_issue(user=team.member)["access"]
    assert [_change(access, f"guess-{n}").status_code for n in range(3)] == [400, 400, 400]
    refused = _change(access, PASSWORD)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert set(refused.json()) == {"detail"}
    team.member.refresh_from_db()
    assert team.member.check_password(PASSWORD)


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=3)
def test_it_shares_the_account_counter_with_sign_in(team: Team) -> None:
    for n in range(3):
        assert _login("member@acme.test", f"guess-{n}").status_code == 401
    access = token_pair_issue(user=team.member)["access"]
    assert _change(access, PASSWORD).status_code == 429

    other = token_pair_issue(user=team.admin)["access"]
    for n in range(3):
        assert _change(other, f"guess-{n}").status_code == 400
    assert _login("admin@acme.test", PASSWORD).status_code == 429


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=100, SEGOPS_LOGIN_MAX_FAILURES_PER_ADDRESS=4)
def test_it_counts_failures_per_address_across_accounts(team: Team) -> None:
    people = [team.member, team.admin, team.viewer, team.owner]
    for n, who in enumerate(people):
        assert _change(token_pair_issue(user=who)["access"], f"guess-{n}").status_code == 400
    assert _change(token_pair_issue(user=team.outsider)["access"], PASSWORD).status_code == 429
