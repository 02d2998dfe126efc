"""Thin views of segments and their definitions: list, create, change, delete, versions, preview."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.core.errors import Conflict, Invalid
from segops_server.core.pagination import PageNumberPagination, paginated_response
from segops_server.segments.api_base import SegmentsView
from segops_server.segments.definitions import selectors, services
from segops_server.segments.definitions.serializers import (
    EstimateSerializer,
    PreviewOutSerializer,
    PreviewSerializer,
    SegmentSerializer,
    SegmentVersionSerializer,
)
from segops_server.segments.rules.clickhouse import EngineUnsupported
from segops_server.segments.rules.dsl import DefinitionError


class SegmentListView(SegmentsView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    @extend_schema(responses=SegmentSerializer(many=True))
    def get(self, request: Request) -> Response:
        segments = selectors.segments_of_tenant(tenant=self.tenant).select_related("computed_version")
        return paginated_response(self, request, segments, SegmentSerializer)

    @extend_schema(request=SegmentSerializer, responses={201: SegmentSerializer})
    def post(self, request: Request) -> Response:
        data = SegmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segment_create(
            tenant=self.tenant, actor=self.actor(request), **data.validated_data
        )
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailView(SegmentsView):
    @extend_schema(responses=SegmentSerializer)
    def get(self, request: Request, segment_id: int) -> Response:
        return Response(
            SegmentSerializer(selectors.segment_get(tenant=self.tenant, segment_id=segment_id)).data
        )

    @extend_schema(request=SegmentSerializer(partial=True), responses=SegmentSerializer)
    def patch(self, request: Request, segment_id: int) -> Response:
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        data = SegmentSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        segment = services.segment_update(segment=segment, actor=self.actor(request), **data.validated_data)
        return Response(SegmentSerializer(segment).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, segment_id: int) -> Response:
        services.segment_delete(segment=selectors.segment_get(tenant=self.tenant, segment_id=segment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentVersionsView(SegmentsView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    @extend_schema(responses=SegmentVersionSerializer(many=True))
    def get(self, request: Request, segment_id: int) -> Response:
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        return paginated_response(
            self, request, selectors.versions_of_segment(segment=segment), SegmentVersionSerializer
        )


class PreviewView(SegmentsView):
    # Preview reads data but takes a body: Viewers may preview, keys need segments:read.
    policy = rules.SEGMENT_PREVIEW

    @extend_schema(request=PreviewSerializer, responses=PreviewOutSerializer)
    def post(self, request: Request) -> Response:
        data = PreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        definition = services.definition_clean(
            tenant=self.tenant, definition=data.validated_data["definition"]
        )
        try:
            previewed = selectors.preview(
                tenant=self.tenant, definition=definition, limit=data.validated_data["limit"]
            )
        except DefinitionError as exc:
            # A valid rule the configured events engine cannot evaluate (clickhouse: some types).
            raise ValidationError({"definition": [exc.message]}) from None
        return Response(previewed)


class EstimateView(SegmentsView):
    # Counting what a saved rule matches is reading: a POST a Viewer and a segments:read key may send.
    policy = rules.SEGMENT_ESTIMATE

    @extend_schema(request=None, responses=EstimateSerializer)
    def post(self, request: Request, segment_id: int) -> Response:
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        try:
            estimated = selectors.estimate(segment=segment)
        except EngineUnsupported as exc:  # the tenant's data, not the rule: as for a preview
            raise Invalid({"detail": exc.message}) from None
        except DefinitionError as exc:
            # As for explain: the saved rule refers to a deleted segment; the segment needs an edit.
            raise Conflict(
                f"This segment's rule cannot be evaluated as saved ({exc.message}); edit the rule."
            ) from None
        return Response(EstimateSerializer(estimated).data)
