"""Features the hosted service has and this installation does not (spec §10): a 404 saying so."""

from __future__ import annotations

import pytest
from django.test import Client

from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db

# Paths the official admin SDK calls (segops_admin/_resources.py), one or more per feature.
PATHS = [
    ("/api/pim/products/", "The product catalog (PIM)"),
    ("/api/pim/products/7/score/", "The product catalog (PIM)"),
    ("/api/pim/import/csv/", "The product catalog (PIM)"),
    ("/api/product-segments/", "Product segments"),
    ("/api/product-segments/3/compute/", "Product segments"),
    ("/api/ai-reach/queries/", "AI visibility"),
    ("/api/ai-reach/dashboard/", "AI visibility"),
    ("/api/ai-pages/pages/", "AI landing pages"),
    ("/api/ai-pages/query", "AI landing pages"),  # the SDK sends this one without a slash
    ("/api/ai/copilot/", "The AI segment builder and copilot"),
]


@pytest.mark.parametrize(("path", "feature"), PATHS)
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_it_answers_404_saying_the_feature_is_not_part_of_this_installation(
    team: Team, path: str, feature: str, method: str
) -> None:
    client = key_client(make_api_key(team.tenant).key)

    answer = getattr(client, method)(path, {"name": "x"}, format="json")

    assert answer.status_code == 404
    assert answer.json() == {"detail": f"{feature} is not part of this installation."}


def test_it_answers_the_same_to_anyone() -> None:
    answer = Client().post("/api/product-segments/", {"name": "x"}, content_type="application/json")

    assert answer.status_code == 404
    assert answer.json() == {"detail": "Product segments is not part of this installation."}


@pytest.mark.parametrize("path", ["/api/aim/", "/api/pimple/", "/api/ai-reachable/", "/api/segments/pim/"])
def test_it_leaves_other_unknown_paths_to_the_plain_404(path: str) -> None:
    answer = Client().get(path)

    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not found."}
