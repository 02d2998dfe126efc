"""event_count, recency and monetary conditions, run as SQL and checked against the reference."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from segops_server.segments.rules.examples import HIGH_VALUE_CHURNERS
from segops_server.segments.tests.test_compiler_harness import NOW, ago, one, store

pytestmark = pytest.mark.django_db


def count(operator: str, value: Any, window_days: int | None = None) -> dict[str, Any]:
    return one(
        {
            "type": "event_count",
            "event_type": "order_placed",
            "operator": operator,
            "value": value,
            "window_days": window_days,
        }
    )


def recency(operator: str, window_days: Any) -> dict[str, Any]:
    return one(
        {"type": "recency", "event_type": "order_placed", "operator": operator, "window_days": window_days}
    )


def money(metric: str, operator: str, value: Any, window_days: int | None = None) -> dict[str, Any]:
    return one(
        {
            "type": "monetary",
            "event_type": "order_placed",
            "property": "total",
            "metric": metric,
            "operator": operator,
            "value": value,
            "window_days": window_days,
        }
    )


def test_it_counts_events_and_zero_for_users_who_never_did_it() -> None:
    history = store(
        [("u3", "order_placed", ago(d), {}) for d in (1, 2, 3)]
        + [("u1", "order_placed", ago(5), {}), ("u0", "page_viewed", ago(1), {})]
    )
    assert history.match(count("gte", 2)) == {"u3"}
    assert history.match(count("eq", 0)) == {"u0"}
    assert history.match(count("lt", 3)) == {"u0", "u1"}
    assert history.match(count("between", [1, 2])) == {"u1"}
    assert history.match(count("not_between", [1, 2])) == {"u0", "u3"}
    assert history.match(count("in", [0, 3])) == {"u0", "u3"}
    assert history.match(count("neq", 1)) == {"u0", "u3"}


def test_it_counts_in_a_window_that_excludes_its_start() -> None:
    history = store(
        [
            ("at_start", "order_placed", ago(7), {}),
            ("just_after", "order_placed", ago(7, microseconds=-1), {}),
            ("old", "order_placed", ago(8), {}),
            ("old", "order_placed", ago(1), {}),
        ]
    )
    assert history.match(count("gte", 1, window_days=7)) == {"just_after", "old"}
    assert history.match(count("eq", 0, window_days=7)) == {"at_start"}
    assert history.match(count("gte", 2, window_days=8)) == set()
    assert history.match(count("gte", 2, window_days=9)) == {"old"}


def test_it_measures_recency_in_days_since_the_last_time() -> None:
    history = store(
        [
            ("active", "order_placed", ago(40), {}),
            ("active", "order_placed", ago(2), {}),
            ("churned", "order_placed", ago(31), {}),
            ("exactly", "order_placed", ago(30), {}),
            ("never", "page_viewed", ago(1), {}),
        ]
    )
    # Never having done it is infinitely long ago: churned by gt and gte, never active.
    assert history.match(recency("gt", 30)) == {"churned", "never"}
    assert history.match(recency("gte", 30)) == {"churned", "exactly", "never"}
    assert history.match(recency("lt", 30)) == {"active"}
    assert history.match(recency("lte", 30)) == {"active", "exactly"}
    assert history.match(recency("eq", 30)) == {"exactly"}
    assert history.match(recency("neq", 30)) == {"active", "churned", "never"}
    assert history.match(recency("between", [30, 31])) == {"churned", "exactly"}
    assert history.match(recency("not_between", [1, 30])) == {"churned", "never"}
    assert history.match(recency("in", [2, 31])) == {"active", "churned"}


def test_it_counts_a_days_fraction_in_recency() -> None:
    history = store(
        [("u1", "order_placed", ago(30, hours=1), {}), ("u2", "order_placed", ago(29, hours=23), {})]
    )
    assert history.match(recency("gt", 30)) == {"u1"}
    assert history.match(recency("lt", 30)) == {"u2"}


def test_it_sums_numbers_and_plain_decimal_strings_only() -> None:
    history = store(
        [
            ("u1", "order_placed", ago(1), {"total": 100}),
            ("u1", "order_placed", ago(2), {"total": "12.5"}),
            ("u1", "order_placed", ago(3), {"total": 0.25}),
            # Not numbers: ignored by every aggregate.
            ("u1", "order_placed", ago(4), {"total": "1e3"}),
            ("u1", "order_placed", ago(5), {"total": True}),
            ("u1", "order_placed", ago(6), {"total": None}),
            ("u1", "order_placed", ago(7), {"total": " 5"}),
            ("u1", "order_placed", ago(8), {"total": [5]}),
            ("u1", "order_placed", ago(9), {}),
            ("u2", "order_placed", ago(1), {"total": "abc"}),
            ("u3", "page_viewed", ago(1), {"total": 1000}),
        ]
    )
    assert history.match(money("sum", "eq", 112.75)) == {"u1"}
    # A sum over nothing is 0, for users with no numbers and for users with no such events.
    assert history.match(money("sum", "eq", 0)) == {"u2", "u3"}
    assert history.match(money("max", "eq", 100)) == {"u1"}
    assert history.match(money("avg", "gt", 37.5)) == {"u1"}
    assert history.match(money("avg", "lte", 37.6)) == {"u1"}


def test_it_gives_no_average_or_maximum_over_no_numbers() -> None:
    history = store(
        [("u1", "order_placed", ago(1), {"total": 10}), ("u2", "order_placed", ago(1), {"total": "n/a"})]
    )
    history.traits = {}
    for metric in ("avg", "max"):
        assert history.match(money(metric, "lt", 100)) == {"u1"}
        assert history.match(money(metric, "gte", 0)) == {"u1"}
        # Negative operators are exactly NOT their positive, so no value makes them true.
        assert history.match(money(metric, "neq", 10)) == {"u2"}
        assert history.match(money(metric, "not_between", [0, 5])) == {"u1", "u2"}


def test_it_averages_without_dividing() -> None:
    history = store([("u1", "order_placed", ago(d), {"total": t}) for d, t in ((1, 1), (2, 1), (3, 2))])
    # 4/3 is no finite decimal: compared as sum op value * count, it is still exact.
    assert history.match(money("avg", "gt", 1.25)) == {"u1"}
    assert history.match(money("avg", "lt", 1.5)) == {"u1"}
    assert history.match(money("avg", "between", [1.25, 1.5])) == {"u1"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite computes in doubles (docs/segments.md)")
def test_it_computes_decimal_amounts_exactly_on_postgresql() -> None:
    history = store(
        [("u1", "order_placed", ago(d), {"total": t}) for d, t in ((1, 0.1), (2, 0.2), (3, "0.6"))]
    )
    assert history.match(money("sum", "eq", 0.9)) == {"u1"}
    assert history.match(money("avg", "eq", 0.3)) == {"u1"}
    assert history.match(money("avg", "in", [1, 0.3])) == {"u1"}


def test_it_aggregates_money_in_a_window() -> None:
    history = store(
        [
            ("u1", "order_placed", ago(40), {"total": 400}),
            ("u1", "order_placed", ago(10), {"total": 200}),
            ("u2", "order_placed", ago(40), {"total": 900}),
        ]
    )
    assert history.match(money("sum", "gte", 500)) == {"u1", "u2"}
    assert history.match(money("sum", "gte", 500, window_days=30)) == set()
    assert history.match(money("sum", "eq", 0, window_days=30)) == {"u2"}
    assert history.match(money("max", "eq", 200, window_days=30)) == {"u1"}
    assert history.match(money("max", "neq", 200, window_days=30)) == {"u2"}


def test_it_finds_the_documented_high_value_churners() -> None:
    history = store(
        [
            ("churner", "order_placed", ago(60), {"total": 450}),
            ("churner", "order_placed", ago(45), {"total": "80.50"}),
            ("active_spender", "order_placed", ago(60), {"total": 900}),
            ("active_spender", "order_placed", ago(3), {"total": 10}),
            ("small_churner", "order_placed", ago(90), {"total": 499.99}),
            ("browser", "page_viewed", ago(100), {}),
        ]
    )
    assert history.match(HIGH_VALUE_CHURNERS) == {"churner"}
    assert history.match(HIGH_VALUE_CHURNERS, now=NOW.replace(year=2027)) == {"churner", "active_spender"}


def test_it_combines_conditions_on_several_event_types() -> None:
    history = store(
        [
            ("u1", "order_placed", ago(1), {"total": 50}),
            ("u1", "login", ago(1), {}),
            ("u2", "login", ago(50), {}),
            ("u3", "order_placed", ago(2), {"total": 5}),
        ]
    )
    rule = {
        "logic": "AND",
        "conditions": [
            money("sum", "lt", 100)["conditions"][0],
            {"type": "recency", "event_type": "login", "operator": "lt", "window_days": 7},
            {"type": "event_count", "event_type": "order_placed", "operator": "lte", "value": 1},
        ],
    }
    assert history.match(rule) == {"u1"}
    assert history.match({**rule, "logic": "OR"}) == {"u1", "u2", "u3"}
