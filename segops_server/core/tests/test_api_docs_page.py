"""GET /api/docs/: the Swagger UI from our own static files, under the console's CSP."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders
from django.test import Client

from segops_server.console.middleware import POLICY


def test_it_references_only_our_own_static_files(db: None) -> None:
    html = Client().get("/api/docs/").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert all(url.startswith("/static/") or url.startswith("/api/docs/?") for url in urls), urls
    assert "cdn" not in html.lower()
    assert "http://" not in html
    assert "https://" not in html


def test_it_has_no_inline_script_or_style(db: None) -> None:
    html = Client().get("/api/docs/").content.decode()
    assert "<style" not in html
    assert all("src=" in attrs for attrs in re.findall(r"<script([^>]*)>", html))


def test_it_carries_the_console_content_security_policy(db: None) -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


def test_it_serves_its_start_script_as_a_file_under_the_policy(db: None) -> None:
    response = Client().get("/api/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content
    assert b"/api/schema/" in response.content
    assert response["Content-Security-Policy"] == POLICY


def test_it_ships_every_static_file_it_references(db: None) -> None:
    html = Client().get("/api/docs/").content.decode()
    paths = re.findall(r'(?:src|href)="/static/([^"]*)"', html)
    assert len(paths) >= 4  # the bundle, the preset, Swagger's styles and ours
    for path in paths:
        assert finders.find(path), path
