"""GET /: the console's front page points people at the API docs."""

from __future__ import annotations

from django.test import Client


def test_it_serves_the_home_page_with_a_link_to_the_docs(db: None) -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b'href="/api/docs/"' in response.content
