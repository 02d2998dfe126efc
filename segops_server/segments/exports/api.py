"""Thin views of exports: ask for a file of a segment's members, follow its progress, download it."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.accounts.models import User
from segops_server.core.pagination import PAGE_PARAMETERS, paginated, paginated_response
from segops_server.keys.models import ApiKey
from segops_server.segments.api_base import SegmentsView
from segops_server.segments.definitions import selectors
from segops_server.segments.exports import services as exports
from segops_server.segments.exports.serializers import (
    ExportQuerySerializer,
    ExportRequestSerializer,
    ExportSerializer,
)


def _caller(request: Request) -> dict[str, Any]:
    """Who asks, for the audit log: the key, or the person."""
    key = request.auth if isinstance(request.auth, ApiKey) else None
    person = request.user if key is None and isinstance(request.user, User) else None
    return {"actor": person, "api_key": key, "request": request}


class ExportView(SegmentsView):
    """Ask for a file of a segment's members, and follow its progress. Reading members is what
    Viewers and segments:read keys may already do, so those rights suffice here too."""

    policy = rules.EXPORTS

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportSerializer})
    def post(self, request: Request, segment_id: int) -> Response:
        data = ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        export, queued_now = exports.export_request(
            segment=segment, format=data.validated_data["format"], **_caller(request)
        )
        body = ExportSerializer(export, context={"request": request}).data
        return Response({**body, "coalesced": not queued_now}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[ExportQuerySerializer, *PAGE_PARAMETERS],
        responses=PolymorphicProxySerializer(
            component_name="ExportOrPage",
            serializers=[ExportSerializer, paginated(ExportSerializer)],
            resource_type_field_name=None,
        ),
    )
    def get(self, request: Request, segment_id: int) -> Response:
        """One export (`?export_id=`), or the segment's exports, newest first."""
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        if "export_id" not in query.validated_data:
            return paginated_response(
                self, request, exports.exports_of_segment(segment=segment), ExportSerializer
            )
        export = exports.export_get(tenant=self.tenant, export_id=query.validated_data["export_id"])
        if export is None or export.segment_id != segment.pk:
            raise NotFound("Export not found.")
        return Response(ExportSerializer(export, context={"request": request}).data)


class ExportDownloadView(SegmentsView):
    policy = rules.EXPORT_DOWNLOAD

    @extend_schema(responses={(200, "text/csv"): bytes, (200, "application/vnd.apache.parquet"): bytes})
    def get(self, request: Request, export_id: Any) -> FileResponse:
        export = exports.export_get(tenant=self.tenant, export_id=export_id)
        if export is None:
            raise NotFound("Export not found.")
        return exports.download_response(export, exports.export_download(export=export, **_caller(request)))
