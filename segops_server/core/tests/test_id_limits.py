"""Id limits are named once: user-id columns and fields use MAX_ID_LENGTH, object ids in URLs
and parameters MAX_ID_DIGITS, so raising one limit cannot leave a copy behind."""

from __future__ import annotations

import re

import pytest
from django.db import models
from django.urls import get_resolver

from segops_server.core.converters import MAX_ID_DIGITS
from segops_server.core.ids import MAX_ID_LENGTH
from segops_server.ingestion.models import Event, IdentityAlias, ProfilePending, UserProfile
from segops_server.segments.models import SegmentMember


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Event, "user_id"),
        (Event, "anonymous_id"),
        (UserProfile, "user_id"),
        (ProfilePending, "user_id"),
        (IdentityAlias, "user_id"),
        (IdentityAlias, "anonymous_id"),
        (SegmentMember, "user_id"),
    ],
)
def test_it_sizes_every_user_id_column_by_max_id_length(model: type[models.Model], field: str) -> None:
    assert model._meta.get_field(field).max_length == MAX_ID_LENGTH


def test_it_bounds_the_explain_routes_segment_id_by_max_id_digits() -> None:
    explain = [p for p in _all_patterns() if "explain" in p]
    assert explain
    for pattern in explain:
        bound = re.search(r"\{1,(\d+)\}\)/explain", pattern)
        assert bound is not None
        assert bound.group(1) == str(MAX_ID_DIGITS)


def _all_patterns() -> list[str]:
    found: list[str] = []

    def walk(resolver: object, prefix: str) -> None:
        for entry in getattr(resolver, "url_patterns", []):
            text = prefix + str(entry.pattern)
            if hasattr(entry, "url_patterns"):
                walk(entry, text)
            else:
                found.append(text)

    walk(get_resolver(), "")
    return found
