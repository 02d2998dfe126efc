"""A segment's Changes tab: the entered/exited feed, oldest first with Load more, as the API reads it."""

from __future__ import annotations

import re

import pytest

from segops_server.activations.tests.helpers import buyers, compute, orders, redefine
from segops_server.console.tests.conftest import ConsoleFor, htmx
from segops_server.console.views import changes
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db


def _rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-change="(\w+)">\s*<td>([^<]+)</td>', html)


def test_a_viewer_reads_who_entered_and_who_exited(team: Team, console: ConsoleFor) -> None:
    orders(team, ann=1, bob=2)
    segment = compute(buyers(team))
    redefine(team, segment, 2)
    html = console("viewer").get(f"/t/acme/segments/{segment.pk}/changes/").content.decode()
    assert _rows(html) == [("entered", "ann"), ("entered", "bob"), ("exited", "ann")]
    assert 'aria-current="page">Changes' in html
    assert "Load more" not in html
    api = team.client("viewer").get(f"/api/segments/{segment.pk}/changes/").json()["results"]
    assert [(c["change"], c["user_id"]) for c in api] == _rows(html)


def test_load_more_brings_the_next_rows(
    team: Team, console: ConsoleFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "PAGE_SIZE", 2)
    orders(team, ann=1, bob=1, cat=1, dan=1, eve=1)
    segment = compute(buyers(team))
    viewer = console("viewer")
    first = viewer.get(f"/t/acme/segments/{segment.pk}/changes/").content.decode()
    assert [u for _c, u in _rows(first)] == ["ann", "bob"]
    link = re.search(r'hx-get="([^"]+)"', first)
    assert link is not None
    second = htmx(viewer, "get", link.group(1).replace("&amp;", "&")).content.decode()
    assert "<html" not in second  # rows only, swapped in place of the button
    assert [u for _c, u in _rows(second)] == ["cat", "dan"]
    link = re.search(r'hx-get="([^"]+)"', second)
    assert link is not None
    third = htmx(viewer, "get", link.group(1).replace("&amp;", "&")).content.decode()
    assert [u for _c, u in _rows(third)] == ["eve"]
    assert "Load more" not in third


def test_a_segment_never_computed_says_so(team: Team, console: ConsoleFor) -> None:
    segment = buyers(team)
    html = console("viewer").get(f"/t/acme/segments/{segment.pk}/changes/").content.decode()
    assert 'data-changes="none"' in html
    assert "compute the segment" in html


def test_a_bad_cursor_is_a_400_and_an_outsider_a_404(team: Team, console: ConsoleFor) -> None:
    segment = buyers(team)
    assert console("viewer").get(f"/t/acme/segments/{segment.pk}/changes/?since=nonsense").status_code == 400
    assert console("outsider").get(f"/t/acme/segments/{segment.pk}/changes/").status_code == 404
