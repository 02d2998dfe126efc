from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import BATCH, TRACK


@pytest.mark.django_db
@pytest.mark.parametrize("path", [TRACK, BATCH])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_it_answers_405_to_other_methods(ingest: APIClient, path: str, method: str) -> None:
    response = getattr(ingest, method)(path)
    assert response.status_code == 405
    assert "detail" in response.json()
