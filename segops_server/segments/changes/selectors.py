"""The change feed: a segment's recorded changes after a cursor, oldest first."""

from __future__ import annotations

from segops_server.core.cursors import cursor_decode, cursor_encode
from segops_server.core.errors import Invalid
from segops_server.segments.models import Segment, SegmentChange

_MAX_ID = 2**63 - 1


def changes_page(
    *, segment: Segment, limit: int, since: str | None
) -> tuple[list[SegmentChange], str | None]:
    """Up to `limit` changes after `since`, and the cursor to ask for the next ones: set whenever
    the page has rows (a client polls the feed with the last cursor it was given), None when
    there is nothing after `since` yet."""
    # A SQLite compute records its changes before its swap: until then they are not the
    # segment's history, and a compute that fails deletes them.
    changes = SegmentChange.objects.for_tenant(segment.tenant).filter(
        segment=segment, generation__lte=segment.generation
    )
    position = cursor_decode(since, 1)
    if position is not None:
        after = position[0]
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= _MAX_ID:
            raise Invalid({"since": ["Invalid cursor."]})
        changes = changes.filter(id__gt=after)
    page = list(changes.order_by("id")[:limit])
    return page, (cursor_encode([page[-1].id]) if page else None)
