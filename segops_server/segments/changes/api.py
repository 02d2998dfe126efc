"""Thin view: a segment's change feed."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.core.cursors import cursor_page
from segops_server.core.serializing import many_data
from segops_server.segments.api_base import SegmentsView
from segops_server.segments.changes.selectors import changes_page
from segops_server.segments.changes.serializers import ChangeSerializer, ChangesQuerySerializer
from segops_server.segments.definitions import selectors


class ChangesView(SegmentsView):
    """Who entered and who exited the segment with each compute (read like its members)."""

    @extend_schema(
        operation_id="segments_changes_list",
        parameters=[ChangesQuerySerializer],
        responses=cursor_page(ChangeSerializer),
    )
    def get(self, request: Request, segment_id: int) -> Response:
        query = ChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        changes, next_cursor = changes_page(
            segment=segment, limit=query.validated_data["limit"], since=query.validated_data.get("since")
        )
        return Response({"results": many_data(ChangeSerializer, changes), "next_cursor": next_cursor})
