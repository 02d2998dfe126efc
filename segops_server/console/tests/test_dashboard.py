"""The dashboard: the first page after sign-in, with figures and server-drawn SVG charts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone

from segops_server.analytics.services import segment_size_record
from segops_server.console.tests.conftest import ConsoleFor
from segops_server.console.tests.events import send, shop
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team


def _rule(event_type: str, at_least: int = 1) -> dict[str, Any]:
    return {
        "logic": "AND",
        "conditions": [
            {"type": "event_count", "event_type": event_type, "operator": "gte", "value": at_least}
        ],
    }


def _segment(team: Team, name: str, rule: dict[str, Any]) -> Segment:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name=name, definition=rule)
    segment_compute_run(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment


def _figure(html: str, name: str) -> str:
    match = re.search(rf'id="figure-{name}">([^<]*)<', html)
    assert match is not None, name
    return match.group(1)


def test_sign_in_leads_to_the_dashboard(team: Team, console: ConsoleFor) -> None:
    viewer = console("viewer")
    assert viewer.get("/")["Location"] == "/t/acme/"
    html = viewer.get("/t/acme/").content.decode()
    assert "<h1>Dashboard</h1>" in html
    assert 'href="/t/acme/" aria-current="page">Dashboard</a>' in html


def test_it_shows_the_overview_figures(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)  # 7 events: alice 3, bob 3, carol 1
    send(team.tenant, ("old", "order_placed", 40, {}))  # older than 30 days
    send(team.other_tenant, ("x", "order_placed", 1, {}))
    _segment(team, "Buyers", _rule("order_placed"))  # alice, bob, carol, (old)
    _segment(team, "Repeat buyers", _rule("order_placed", 2))  # alice, bob
    html = console("viewer").get("/t/acme/").content.decode()
    assert _figure(html, "segments") == "2"
    assert _figure(html, "members") == "6"
    assert _figure(html, "events") == "7"


def test_it_draws_each_segments_size_over_the_days_recorded(team: Team, console: ConsoleFor) -> None:
    send(team.tenant, ("alice", "order_placed", 1, {}), ("bob", "order_placed", 1, {}))
    buyers = _segment(team, "Buyers", _rule("order_placed"))
    today = timezone.now().date()
    segment_size_record(
        segment_id=buyers.pk, tenant_id=team.tenant.pk, day=today - timedelta(days=3), count=7
    )
    html = console("viewer").get("/t/acme/").content.decode()
    chart = html[html.index('aria-labelledby="trend-svg-title') : html.index("</svg>")]
    assert '<polyline class="line series-0"' in chart
    assert "Buyers: 7 members on" in chart  # the text alternative
    # One point per day from the first recorded day to today.
    points = re.search(r'points="([^"]+)"', chart)
    assert points is not None
    assert len(points.group(1).split()) == 4
    table = html[html.index("Segment sizes by day") :]
    assert f'<td data-label="Day">{today:%Y-%m-%d}</td><td data-label="Members">2</td>' in table
    assert (
        '<svg class="chart" viewBox="0 0 600 220" width="100%" role="img" aria-labelledby="trend-svg' in html
    )


def test_it_draws_events_per_day_for_30_days(team: Team, console: ConsoleFor) -> None:
    send(team.tenant, ("a", "page_viewed", 0, {}), ("b", "page_viewed", 0, {}), ("a", "x_y", 2, {}))
    send(team.tenant, ("a", "page_viewed", 45, {}))
    html = console("viewer").get("/t/acme/").content.decode()
    chart = html[html.index('aria-labelledby="events-svg-title') :]
    chart = chart[: chart.index("</svg>")]
    assert "3 events from" in chart
    assert chart.count('<rect class="bar"') == 2  # the days with events
    rows = re.findall(r'<td data-label="Events">(\d+)</td>', html)
    assert len(rows) == 30
    assert sorted(int(r) for r in rows)[-2:] == [1, 2]
    assert sum(int(r) for r in rows) == 3


def test_it_lists_the_overlap_of_the_largest_segments(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)
    buyers = _segment(team, "Buyers", _rule("order_placed"))
    repeat = _segment(team, "Repeat buyers", _rule("order_placed", 2))
    html = console("viewer").get("/t/acme/").content.decode()
    section = html[html.index("Overlap of the largest segments") :]
    assert f'href="/t/acme/segments/{buyers.pk}/">Buyers</a>' in section
    assert f'href="/t/acme/segments/{repeat.pk}/">Repeat buyers</a>' in section
    assert '<td data-label="Shared members">2</td>' in section
    assert "100.0 %" in section


def test_it_says_so_when_there_is_nothing_yet(team: Team, console: ConsoleFor) -> None:
    html = console("member").get("/t/acme/").content.decode()
    assert '<svg class="chart"' not in html
    assert 'No segments yet. <a href="/t/acme/segments/new/">Create one</a>.' in html
    assert "No events in the last 30 days." in html
    assert "No two segments share members yet." in html
    assert _figure(html, "segments") == "0"
    viewer = console("viewer").get("/t/acme/").content.decode()
    assert "No segments yet.</p>" in viewer  # no link to a page a Viewer may not use


def test_it_shows_only_the_tenants_own_figures(team: Team, console: ConsoleFor) -> None:
    send(team.other_tenant, ("x", "order_placed", 1, {}))
    segment_create(tenant=team.other_tenant, actor=team.outsider, name="Globex only", definition=_rule("o"))
    html = console("viewer").get("/t/acme/").content.decode()
    assert "Globex only" not in html
    assert _figure(html, "events") == "0"
