"""With SEGOPS_TOKEN_FAMILY_CACHE a live family is remembered per process, and any revocation
drops what every process remembers once it commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from segops_server.accounts import families
from segops_server.accounts.services import user_change_password
from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache_on(tmp_path: Any) -> Any:
    with override_settings(SEGOPS_TOKEN_FAMILY_CACHE=True, DATA_DIR=tmp_path):
        families.clear()
        yield
        families.clear()


def _me(access: str) -> int:
    return APIClient().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def _family_queries(access: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert _me(access) == 200
    return sum("accounts_tokenfamily" in q["sql"] for q in queries.captured_queries)


def test_it_checks_a_known_live_family_without_reading_it(team: Team) -> None:
    access = token_pair_issue(user=team.owner)["access"]
    assert _family_queries(access) == 1
    assert _family_queries(access) == 0


def test_it_refuses_the_access_token_at_once_after_logout(team: Team) -> None:
    pair = token_pair_issue(user=team.owner)
    kept = token_pair_issue(user=team.owner)
    assert _me(pair["access"]) == _me(kept["access"]) == 200
    out = APIClient().post("/api/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    assert out.status_code == 204
    assert _me(pair["access"]) == 401
    assert _me(kept["access"]) == 200


def test_it_forgets_every_family_when_the_password_changes(team: Team) -> None:
    access = token_pair_issue(user=team.member)["access"]
    assert _me(access) == 200
    user_change_password(user=team.member, new_password="a-new-long-password-7")
    assert _me(access) == 401


def test_it_never_takes_a_family_for_another_person(team: Team) -> None:
    from segops_server.accounts.models import TokenFamily

    family = TokenFamily.objects.create(user=team.owner)
    assert families.family_is_live(family=family.pk, user_id=team.owner.pk)
    assert not families.family_is_live(family=family.pk, user_id=team.member.pk)
