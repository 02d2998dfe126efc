"""SEGOPS_WEBHOOK_RETRY_SCHEDULE: read at start, refused with a clear message when it cannot give
a first retry within 10 s and 24 hours of retries; and which outcomes are retried."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from segops_server.conf.env import env_durations
from segops_server.webhooks.schedule import attempt_verdict, retry_after_seconds
from segops_server.webhooks.sending import Outcome

NAME = "SEGOPS_TEST_SCHEDULE"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def read(monkeypatch: pytest.MonkeyPatch, raw: str) -> tuple[int, ...]:
    monkeypatch.setenv(NAME, raw)
    return env_durations(NAME, "1s", first_at_most=10, total_at_least=24 * 3600)


def test_it_reads_the_default_schedule() -> None:
    from django.conf import settings

    schedule = settings.SEGOPS_WEBHOOK_RETRY_SCHEDULE
    assert schedule[0] <= 10
    assert sum(schedule) >= 24 * 3600


def test_it_reads_durations_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert read(monkeypatch, "5s, 30s,2m,1h,1d") == (5, 30, 120, 3600, 86400)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("5s,,1d", "a comma list of durations"),
        ("5s,1x,1d", "'1x'"),
        ("0s,1d", "'0s'"),
        ("-5s,1d", "'-5s'"),
        ("30s,1d", "the first entry must be at most 10 s, got 30 s"),
        ("5s,30s,2m,10m,30m,1h,2h,4h,8h", "must add up to at least 86400 s, got 56555 s"),
    ],
)
def test_it_refuses_a_bad_schedule(monkeypatch: pytest.MonkeyPatch, raw: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=NAME) as refused:
        read(monkeypatch, raw)
    assert message in str(refused.value)


def test_the_server_refuses_to_start_with_a_bad_schedule() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "DJANGO_SETTINGS_MODULE": "segops_server.settings",
            "SEGOPS_ENV": "test",
            "SEGOPS_WEBHOOK_RETRY_SCHEDULE": "1m,1d",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SEGOPS_WEBHOOK_RETRY_SCHEDULE: the first entry must be at most 10 s" in result.stderr


@pytest.mark.parametrize(
    ("status", "error", "retried"),
    [
        (None, "connection refused", True),
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (408, None, True),
        (429, None, True),
        (400, None, False),
        (401, None, False),
        (404, None, False),
        (410, None, False),
        (301, None, False),
        (302, None, False),
        (307, None, False),
    ],
)
def test_it_retries_no_answer_5xx_408_and_429_only(
    settings: object, status: int | None, error: str | None, retried: bool
) -> None:
    verdict = attempt_verdict(Outcome(status=status, duration_ms=1, error=error), attempt=1, now=NOW)
    assert verdict.succeeded is False
    assert verdict.final is not retried
    assert (verdict.next_attempt_at is not None) is retried


def test_it_reads_retry_after_as_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("120", now=NOW) == 120
    assert retry_after_seconds("Thu, 01 Jan 2026 00:02:00 GMT", now=NOW) == 120
    assert retry_after_seconds("Wed, 31 Dec 2025 00:00:00 GMT", now=NOW) == 0  # in the past: now
    assert retry_after_seconds("soon", now=NOW) is None
    assert retry_after_seconds(None, now=NOW) is None
