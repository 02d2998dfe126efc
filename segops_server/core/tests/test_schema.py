"""GET /api/schema/ and /api/docs/: every API route is documented, with the bearer scheme."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.admindocs.views import simplify_regex
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from segops_server.core import views as core_views

SCHEMA_VIEWS = (SpectacularAPIView, SpectacularSwaggerSplitView)


def _routes(patterns: list[Any], prefix: str = "/") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def _api_paths() -> set[str]:
    """Every /api/ route of the url conf, spelled the OpenAPI way (`{name}` parameters)."""
    paths = set()
    for route, callback in _routes(get_resolver().url_patterns):
        if not route.startswith("/api/") or getattr(callback, "cls", None) in SCHEMA_VIEWS:
            continue
        if callback is core_views.not_installed:  # features this installation lacks: no API to document
            continue
        paths.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", simplify_regex(route.replace("^", ""))))
    return paths


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return dict(response.json())


def test_it_serves_an_openapi_document(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "SegOps API"


def test_it_documents_every_api_route(schema: dict[str, Any]) -> None:
    expected = _api_paths()
    assert "/api/tenants/{tenant_slug}/members/{user_id}/" in expected  # the walk itself works
    missing = expected - set(schema["paths"])
    assert not missing, f"routes missing from the schema: {sorted(missing)}"


def test_it_declares_a_bearer_security_scheme(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    bearer = [s for s in schemes.values() if s.get("type") == "http" and s.get("scheme") == "bearer"]
    assert bearer
    assert bearer[0].get("bearerFormat") == "JWT"


def test_it_marks_login_as_needing_no_credentials(schema: dict[str, Any]) -> None:
    assert schema["paths"]["/api/auth/token/"]["post"].get("security") in ([], [{}], None)
    me = schema["paths"]["/api/auth/me/"]["get"]
    assert any("jwtAuth" in requirement for requirement in me["security"])


def test_it_serves_yaml_by_default(db: None) -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3." in response.content


def test_it_serves_the_interactive_docs(db: None) -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"/api/schema/" in Client().get("/api/docs/", {"script": ""}).content


def test_it_generates_without_warnings_or_errors(tmp_path: Any, django_db_blocker: Any) -> None:
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3.")


def test_it_documents_the_error_shape_as_every_operations_default(schema: dict[str, Any]) -> None:
    assert schema["components"]["schemas"]["Error"]["properties"] == {"detail": {"type": "string"}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            default = operation["responses"].get("default")
            assert default, f"{method.upper()} {path} documents no error answer"
            assert default["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/api/segments/", {"count", "next", "previous", "results"}),
        ("/api/tenants/", {"count", "next", "previous", "results"}),
        ("/api/tenants/{tenant_slug}/members/", {"count", "next", "previous", "results"}),
        ("/api/audit-log/", {"count", "next", "previous", "results"}),
        ("/api/explorer/users/", {"count", "results"}),
        ("/api/segments/{segment_id}/members/", {"results", "next_cursor"}),
        ("/api/explorer/users/{user_id}/events/", {"count", "results", "next_cursor"}),
    ],
)
def test_it_documents_lists_in_the_envelope_they_are_answered_in(
    schema: dict[str, Any], path: str, envelope: set[str]
) -> None:
    ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    name = ok["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][name]["properties"]) == envelope
    assert schema["paths"][path]["get"]["operationId"].endswith("_list")  # stable for generated clients
