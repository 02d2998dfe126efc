"""Thin view asking for a segment's compute: queued for the worker, or coalesced with one pending."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.segments.api_base import SegmentsView
from segops_server.segments.compute import services as compute
from segops_server.segments.definitions import selectors


class ComputeView(SegmentsView):
    @extend_schema(
        request=None,
        responses={202: inline_serializer("ComputeQueued", {"status": serializers.CharField()})},
    )
    def post(self, request: Request, segment_id: int) -> Response:
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        queued_now = compute.segment_compute_request(segment=segment)
        body = {"status": "queued", "coalesced": not queued_now}
        return Response(body, status=status.HTTP_202_ACCEPTED)
