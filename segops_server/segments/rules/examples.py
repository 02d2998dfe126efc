"""Definitions the documentation names, shared by the tests and the benchmark that check them."""

from __future__ import annotations

from typing import Any

# docs/segments.md: spent 500 or more on orders, and no order in the last 30 days.
HIGH_VALUE_CHURNERS: dict[str, Any] = {
    "logic": "AND",
    "conditions": [
        {
            "type": "monetary",
            "event_type": "order_placed",
            "property": "total",
            "metric": "sum",
            "operator": "gte",
            "value": 500,
        },
        {"type": "recency", "event_type": "order_placed", "operator": "gt", "window_days": 30},
    ],
}
