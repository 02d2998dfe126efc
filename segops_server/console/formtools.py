"""Turning a service's DRF errors into form errors, so the console shows the API's own words."""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework.exceptions import APIException


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


def add_service_errors(form: forms.Form, exc: APIException, *, rename: dict[str, str] | None = None) -> None:
    """Field errors land on the form field of that name (or its `rename`), the rest on the form."""
    rename = rename or {}
    detail = exc.detail
    if not isinstance(detail, dict):
        for message in _messages(detail):
            form.add_error(None, message)
        return
    for field, value in detail.items():
        target = rename.get(str(field), str(field))
        for message in _messages(value):
            form.add_error(target if target in form.fields else None, message)
