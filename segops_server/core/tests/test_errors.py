"""One error shape: bad input is a clear 4xx with {"detail"}, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import RequestDataTooBig
from django.test import Client, RequestFactory, override_settings
from rest_framework.exceptions import ValidationError

from segops_server.core import views
from segops_server.core.errors import exception_handler
from segops_server.urls import handler400, handler403, handler404, handler500

LOGIN = "/api/auth/token/"


@pytest.mark.parametrize(
    "body",
    [b"{bad", b'{"email": }', b"[1, 2", b"\xff\xfe", b"{'email': 'x'}", b"nul"],
)
def test_it_answers_400_with_detail_for_malformed_json(db: None, body: bytes) -> None:
    response = Client().post(LOGIN, body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["detail"]
    assert "JSON" in response.json()["detail"]


@override_settings(SEGOPS_MAX_BODY_BYTES=1024)
def test_it_answers_413_for_a_body_over_the_limit(db: None) -> None:
    body = '{"email": "a@b.test", "password": "' + "x" * 2000 + '"}'
    response = Client().post(LOGIN, body, content_type="application/json")
    assert response.status_code == 413
    assert list(response.json()) == ["detail"]
    assert "1024" in response.json()["detail"]


@override_settings(SEGOPS_MAX_BODY_BYTES=1024)
def test_it_accepts_a_body_right_at_the_limit(db: None) -> None:
    prefix, suffix = '{"email": "a@b.test", "password": "', '"}'
    body = prefix + "x" * (1024 - len(prefix) - len(suffix)) + suffix
    assert len(body) == 1024
    response = Client().post(LOGIN, body, content_type="application/json")
    assert response.status_code == 400  # the password is too long for the field, not too big a body
    assert list(response.json()) == ["password"]


@pytest.mark.parametrize("length", ["abc", "1e3", "12 bytes"])
def test_it_answers_400_for_a_non_numeric_content_length(db: None, length: str) -> None:
    response = Client().post(LOGIN, b"{}", content_type="application/json", CONTENT_LENGTH=length)
    assert response.status_code == 400
    assert response.json() == {"detail": "Content-Length must be a number."}


@pytest.mark.parametrize("path", ["/api/nope/", "/api/auth/nope/", "/api/tenants/acme/nope/", "/nope"])
def test_it_answers_404_json_for_an_unknown_route(db: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "email=a@b.test"),
        ("application/x-www-form-urlencoded", "email=a%40b.test&password=x"),
        ("application/xml", "<email>a@b.test</email>"),
        ("multipart/form-data; boundary=x", "--x--"),
    ],
)
def test_it_answers_415_for_a_body_that_is_not_json(db: None, content_type: str, body: str) -> None:
    response = Client().post(LOGIN, body, content_type=content_type)
    assert response.status_code == 415
    assert list(response.json()) == ["detail"]


def test_it_answers_405_with_detail_for_a_wrong_method(db: None) -> None:
    response = Client().get(LOGIN)
    assert response.status_code == 405
    assert list(response.json()) == ["detail"]


def test_it_routes_django_error_handlers_to_the_json_views() -> None:
    assert handler400 == "segops_server.core.views.bad_request"
    assert handler403 == "segops_server.core.views.permission_denied"
    assert handler404 == "segops_server.core.views.not_found"
    assert handler500 == "segops_server.core.views.server_error"


@pytest.mark.parametrize(
    ("view", "status"),
    [
        (views.server_error, 500),
        (views.bad_request, 400),
        (views.permission_denied, 403),
        (views.not_found, 404),
    ],
)
def test_it_answers_django_errors_with_json(view: Any, status: int) -> None:
    response = view(RequestFactory().get("/api/anything/"))
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.content.decode()
    assert body.startswith('{"detail": ')
    assert "Traceback" not in body


def test_it_turns_an_oversized_body_error_into_413(db: None) -> None:
    response = exception_handler(RequestDataTooBig("too big"), {})
    assert response is not None
    assert response.status_code == 413
    assert response.data == {"detail": "Request body is too large."}


def test_it_turns_a_bare_list_of_errors_into_one_detail(db: None) -> None:
    response = exception_handler(ValidationError(["First problem.", "Second problem."]), {})
    assert response is not None
    assert response.status_code == 400
    assert response.data == {"detail": "First problem. Second problem."}


def test_it_leaves_unknown_exceptions_to_django(db: None) -> None:
    assert exception_handler(ValueError("boom"), {}) is None


def test_it_strips_token_error_details_to_the_message(db: None) -> None:
    response = Client().get("/api/auth/me/", HTTP_AUTHORIZATION="Bearer not.a.token")
    assert response.status_code == 401
    assert list(response.json()) == ["detail"]
