"""What a tenant is told about a failed compute: a short message, never the database's text."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError
from django.test import override_settings

from segops_server.segments.compute.services import compute_failure_message
from segops_server.segments.rules.dsl import DefinitionError


def _wrapped(message: str, cause: BaseException) -> OperationalError:
    exc = OperationalError(message)
    exc.__cause__ = cause
    return exc


@override_settings(SEGOPS_COMPUTE_TIMEOUT_SECONDS=90)
@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (
            _wrapped("canceling statement due to statement timeout", psycopg.errors.QueryCanceled("57014")),
            "The compute failed: the rule took too long to evaluate (the limit is 90 s).",
        ),
        (
            _wrapped("connection failed: connection refused", psycopg.OperationalError("refused")),
            "The compute failed: the database was unavailable. Compute the segment again.",
        ),
        (
            DefinitionError("conditions[0].segment_id: no such segment"),
            "The compute failed: conditions[0].segment_id: no such segment",
        ),
        (
            _wrapped('relation "ingestion_event" does not exist', psycopg.errors.UndefinedTable("42P01")),
            "The compute failed; the server log has the details (reference abc123).",
        ),
        (
            ZeroDivisionError("division by zero"),
            "The compute failed; the server log has the details (reference abc123).",
        ),
    ],
)
def test_it_words_each_failure_for_people(exc: BaseException, message: str) -> None:
    assert compute_failure_message(exc, "abc123") == message
