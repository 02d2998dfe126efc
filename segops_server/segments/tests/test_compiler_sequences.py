"""event_sequence: ordered steps, within a window, strict (consecutive) or not."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.segments.tests.test_compiler_harness import ago, one, store

pytestmark = pytest.mark.django_db


def sequence(*events: str, window_days: int | None = None, strict: bool = False) -> dict[str, Any]:
    return one(
        {"type": "event_sequence", "events": list(events), "window_days": window_days, "strict": strict}
    )


def test_it_finds_steps_in_order_with_anything_between() -> None:
    history = store(
        [
            ("in_order", "signup", ago(10), {}),
            ("in_order", "page_viewed", ago(9), {}),
            ("in_order", "order_placed", ago(8), {}),
            ("reversed", "order_placed", ago(10), {}),
            ("reversed", "signup", ago(9), {}),
            ("only_first", "signup", ago(3), {}),
        ]
    )
    assert history.match(sequence("signup", "order_placed")) == {"in_order"}
    assert history.match(sequence("signup", "page_viewed", "order_placed")) == {"in_order"}
    assert history.match(sequence("order_placed", "signup")) == {"reversed"}


def test_it_measures_the_window_from_first_to_last_step_inclusive() -> None:
    history = store(
        [
            ("exactly_7", "signup", ago(20), {}),
            ("exactly_7", "order_placed", ago(13), {}),
            ("over_7", "signup", ago(20), {}),
            ("over_7", "order_placed", ago(13, microseconds=-1), {}),
            # A first step too early, then a later one that fits.
            ("second_try", "signup", ago(30), {}),
            ("second_try", "signup", ago(12), {}),
            ("second_try", "order_placed", ago(6), {}),
        ]
    )
    assert history.match(sequence("signup", "order_placed", window_days=7)) == {"exactly_7", "second_try"}
    assert history.match(sequence("signup", "order_placed", window_days=5)) == set()
    assert history.match(sequence("signup", "order_placed")) == {"exactly_7", "over_7", "second_try"}


def test_it_orders_events_at_the_same_instant_by_arrival() -> None:
    history = store(
        [
            ("u1", "signup", ago(1), {}),
            ("u1", "order_placed", ago(1), {}),
            ("u2", "order_placed", ago(1), {}),
            ("u2", "signup", ago(1), {}),
        ]
    )
    assert history.match(sequence("signup", "order_placed", window_days=0)) == {"u1"}
    assert history.match(sequence("order_placed", "signup", window_days=0)) == {"u2"}


def test_it_needs_one_event_per_step_when_a_type_repeats() -> None:
    history = store(
        [
            ("once", "page_viewed", ago(3), {}),
            ("twice", "page_viewed", ago(3), {}),
            ("twice", "page_viewed", ago(2), {}),
            ("twice", "order_placed", ago(1), {}),
        ]
    )
    assert history.match(sequence("page_viewed", "page_viewed")) == {"twice"}
    assert history.match(sequence("page_viewed", "page_viewed", "order_placed")) == {"twice"}


def test_it_allows_nothing_between_strict_steps() -> None:
    history = store(
        [
            ("direct", "cart_added", ago(5), {}),
            ("direct", "order_placed", ago(4), {}),
            ("distracted", "cart_added", ago(5), {}),
            ("distracted", "page_viewed", ago(4, hours=12), {}),
            ("distracted", "order_placed", ago(4), {}),
            ("slow", "cart_added", ago(20), {}),
            ("slow", "order_placed", ago(4), {}),
        ]
    )
    assert history.match(sequence("cart_added", "order_placed", strict=True)) == {"direct", "slow"}
    assert history.match(sequence("cart_added", "order_placed", strict=True, window_days=1)) == {"direct"}
    assert history.match(sequence("cart_added", "order_placed")) == {"direct", "distracted", "slow"}
    assert history.match(sequence("cart_added", "page_viewed", "order_placed", strict=True)) == {"distracted"}
