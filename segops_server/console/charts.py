"""Charts drawn on the server as inline SVG: the coordinates are computed here and the template
draws them (console/_charts/*.html), so no script draws anything and every chart scales to the
page's width through its viewBox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

WIDTH = 600
HEIGHT = 220
LEFT = 48  # room for the value labels
RIGHT = 12
TOP = 12
BOTTOM = 28  # room for the day labels
SERIES_COLOURS = 6  # console.css: .series-0 … .series-5


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Axis:
    """The y axis from 0 to a round maximum, with its ticks, and the x labels (first and last day)."""

    top: int
    ticks: list[Tick]
    first: str
    last: str


def _round_top(value: int) -> int:
    """The smallest of 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def _y(value: int, top: int) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top), 1)


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return round(LEFT + (span * index / (count - 1) if count > 1 else span / 2), 1)


def _axis(days: Sequence[date], biggest: int) -> Axis:
    top = _round_top(biggest)
    return Axis(
        top=top,
        ticks=[Tick(y=_y(v, top), label=f"{v:,}") for v in sorted({0, top // 2, top})],
        first=days[0].strftime("%b %-d") if days else "",
        last=days[-1].strftime("%b %-d") if days else "",
    )


def bars(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """[{day, count}] → a bar per day: x, y, width, height, and the values for the text table."""
    days = [p["day"] for p in points]
    axis = _axis(days, max((p["count"] for p in points), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(points), 1)
    drawn = []
    for index, point in enumerate(points):
        y = _y(point["count"], axis.top)
        drawn.append(
            {
                "x": round(LEFT + slot * index + slot * 0.15, 1),
                "y": y,
                "width": round(slot * 0.7, 1),
                "height": round(HEIGHT - BOTTOM - y, 1),
                "day": point["day"],
                "count": point["count"],
            }
        )
    return {"axis": axis, "bars": drawn, "total": sum(p["count"] for p in points), **_frame()}


def lines(series: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """[{name, trend: [{day, count}]}] → a polyline per series over the days they share the
    chart with (the longest series' days), each with its colour class."""
    drawn = [s for s in series if s["trend"]]
    days = max((tuple(p["day"] for p in s["trend"]) for s in drawn), key=len, default=())
    axis = _axis(days, max((p["count"] for s in drawn for p in s["trend"]), default=0))
    position = {day: index for index, day in enumerate(days)}
    result = []
    for number, one in enumerate(drawn):
        coords = [(_x(position[p["day"]], len(days)), _y(p["count"], axis.top)) for p in one["trend"]]
        result.append(
            {
                "name": one["name"],
                "colour": f"series-{number % SERIES_COLOURS}",
                "points": " ".join(f"{x},{y}" for x, y in coords),
                "last_x": coords[-1][0],
                "last_y": coords[-1][1],
                "first_count": one["trend"][0]["count"],
                "last_count": one["trend"][-1]["count"],
                "trend": one["trend"],
            }
        )
    return {"axis": axis, "series": result, "days": list(days), **_frame()}


def _frame() -> dict[str, Any]:
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "label_y": HEIGHT - 8,
    }
