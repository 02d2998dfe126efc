"""What follows a delivery attempt: done, tried again later (and when), or failed for good."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

from segops_server.webhooks.sending import Outcome

# Answers worth another try: the receiver is down or busy (5xx), timed out reading the request
# (408) or asks us to slow down (429). Any other 4xx says the request itself is refused, and a
# 3xx is never followed (the signed body would go somewhere never vetted): trying again would
# only get the same answer.
RETRIED_STATUSES = frozenset({408, 429})
# Retry-After is honoured on these: the statuses RFC 9110 gives it a meaning on for a retry.
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Verdict:
    succeeded: bool
    final: bool  # settled: succeeded, refused for good or out of retries
    next_attempt_at: datetime | None  # when not final


def retry_schedule() -> tuple[int, ...]:
    """The waits (seconds) before each retry, from SEGOPS_WEBHOOK_RETRY_SCHEDULE."""
    return tuple(settings.SEGOPS_WEBHOOK_RETRY_SCHEDULE)


def retryable(outcome: Outcome) -> bool:
    """No answer at all (a refused connection, a timeout, a refused address), a 5xx, 408 or 429."""
    if outcome.status is None:
        return True
    return outcome.status >= 500 or outcome.status in RETRIED_STATUSES


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """A Retry-After header's wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    return max(0.0, (when - now).total_seconds())


def attempt_verdict(outcome: Outcome, *, attempt: int, now: datetime) -> Verdict:
    """The verdict on attempt number `attempt` (1 for the first) of a delivery.

    A retried delivery waits the schedule's entry for this attempt, or longer when a 429 or 503
    says Retry-After (at most the schedule's longest wait, so a receiver cannot park a delivery
    for ever); after the schedule's last entry it fails for good."""
    if outcome.succeeded:
        return Verdict(succeeded=True, final=True, next_attempt_at=None)
    schedule = retry_schedule()
    if not retryable(outcome) or attempt > len(schedule):
        return Verdict(succeeded=False, final=True, next_attempt_at=None)
    wait = float(schedule[attempt - 1])
    if outcome.status in RETRY_AFTER_STATUSES:
        asked = retry_after_seconds(outcome.retry_after, now=now)
        if asked is not None:
            wait = max(wait, min(asked, float(max(schedule))))
    return Verdict(succeeded=False, final=False, next_attempt_at=now + timedelta(seconds=wait))
