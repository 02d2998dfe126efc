"""Input and output shapes of exports: the request, the query for one, and an export's progress."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from segops_server.segments.models import ExportFormat, ExportStatus, SegmentExport

# The hosted API calls a finished export "complete"; it is stored as "done". The word is mapped
# here, at the API's edge, rather than by rewriting stored rows (a migration of the segments app).
PUBLIC_STATUS = {ExportStatus.DONE.value: "complete"}
PUBLIC_STATUS_CHOICES = [PUBLIC_STATUS.get(value, value) for value in ExportStatus.values]


def export_status_public(status: str) -> str:
    return PUBLIC_STATUS.get(status, status)


class ExportRequestSerializer(serializers.Serializer[None]):
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.CSV)


class ExportQuerySerializer(serializers.Serializer[None]):
    export_id = serializers.UUIDField(required=False)


class ExportSerializer(serializers.Serializer[SegmentExport]):
    export_id = serializers.UUIDField(source="pk")
    segment_id = serializers.IntegerField()
    format = serializers.CharField()
    status = serializers.SerializerMethodField()
    generation = serializers.IntegerField(
        allow_null=True, help_text="The member set written (set once the file is done)."
    )
    row_count = serializers.IntegerField(help_text="Rows written so far; the progress while running.")
    total_rows = serializers.IntegerField(allow_null=True, help_text="Rows in the member set being written.")
    size_bytes = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=PUBLIC_STATUS_CHOICES))
    def get_status(self, obj: SegmentExport) -> str:
        return export_status_public(obj.status)

    def get_expires_at(self, obj: SegmentExport) -> str | None:
        if obj.status == ExportStatus.EXPIRED:
            return None
        expires = obj.created_at + timedelta(hours=settings.SEGOPS_EXPORT_RETENTION_HOURS)
        return serializers.DateTimeField().to_representation(expires)

    def get_download_url(self, obj: SegmentExport) -> str | None:
        if obj.status != ExportStatus.DONE:
            return None
        path = reverse("segment-export-download", kwargs={"export_id": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path
