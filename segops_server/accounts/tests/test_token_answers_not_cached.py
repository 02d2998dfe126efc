"""Every answer that carries a token pair tells caches not to keep it."""

from __future__ import annotations

from rest_framework.test import APIClient

from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import PASSWORD, Team


def test_it_marks_every_token_answer_no_store(team: Team) -> None:
    anyone = APIClient()
    refresh = token_pair_issue(user=team.owner)["refresh"]
    answers = [
        anyone.post(
            "/api/auth/register/",
            {"email": "new@acme.test", "password": "a-fresh-pass-for-me-9"},
            format="json",
        ),
        anyone.post("/api/auth/token/", {"email": "owner@acme.test", "password": PASSWORD}, format="json"),
        anyone.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json"),
        team.client("member").post(
            "/api/auth/password/",
            {"current_password": PASSWORD, "new_password": "another-long-pass-42"},
            format="json",
        ),
    ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200]
    assert all(a["Cache-Control"] == "no-store" for a in answers)
