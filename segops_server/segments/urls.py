"""Routes for segments (a user's segments and explain are routed in explorer/urls.py)."""

from django.urls import path

from segops_server.segments.changes import api as changes
from segops_server.segments.compute import api as compute
from segops_server.segments.definitions import api as definitions
from segops_server.segments.delivery import api as delivery
from segops_server.segments.exports import api as exports

urlpatterns = [
    path("segments/", definitions.SegmentListView.as_view(), name="segment-list"),
    path("segments/preview/", definitions.PreviewView.as_view(), name="segment-preview"),
    path("segments/membership/", delivery.MembershipView.as_view(), name="segment-membership"),
    path("segments/<id:segment_id>/", definitions.SegmentDetailView.as_view(), name="segment-detail"),
    path(
        "segments/<id:segment_id>/versions/",
        definitions.SegmentVersionsView.as_view(),
        name="segment-versions",
    ),
    path("segments/<id:segment_id>/estimate/", definitions.EstimateView.as_view(), name="segment-estimate"),
    path("segments/<id:segment_id>/compute/", compute.ComputeView.as_view(), name="segment-compute"),
    path("segments/<id:segment_id>/members/", delivery.MembersView.as_view(), name="segment-members"),
    path("segments/<id:segment_id>/changes/", changes.ChangesView.as_view(), name="segment-changes"),
    path("segments/<id:segment_id>/export/", exports.ExportView.as_view(), name="segment-export"),
    path(
        "segments/exports/<uuid:export_id>/download/",
        exports.ExportDownloadView.as_view(),
        name="segment-export-download",
    ),
]
