"""The Live badge: real-time segments say so in the segment list and on the segment's page."""

from __future__ import annotations

from segops_server.console.tests.conftest import ConsoleFor
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team

BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}],
}


def test_the_list_marks_only_realtime_segments_live(team: Team, console: ConsoleFor) -> None:
    segment_create(tenant=team.tenant, actor=team.owner, name="Live one", definition=BUYERS)
    segment_create(tenant=team.tenant, actor=team.owner, name="Batch one", definition=BUYERS, realtime=False)
    html = console("viewer").get("/t/acme/segments/").content.decode()
    rows = {row.split("</a>")[0].rsplit(">", 1)[1]: row for row in html.split("<tr>")[2:]}
    assert "data-live" in rows["Live one"]
    assert "data-live" not in rows["Batch one"]


def test_the_segment_page_shows_the_badge_and_the_last_live_change(team: Team, console: ConsoleFor) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    html = console("viewer").get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert "data-live" in html
    assert "Last live change" in html
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(realtime=False)
    html = console("viewer").get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert "data-live" not in html
