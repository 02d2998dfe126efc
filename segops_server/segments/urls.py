"""Routes for segments (a user's segments and explain are routed in explorer/urls.py)."""

from django.urls import path

from segops_server.segments.definitions import api

urlpatterns = [
    path("segments/", api.SegmentListView.as_view(), name="segment-list"),
    path("segments/preview/", api.PreviewView.as_view(), name="segment-preview"),
    path("segments/membership/", api.MembershipView.as_view(), name="segment-membership"),
    path("segments/<id:segment_id>/", api.SegmentDetailView.as_view(), name="segment-detail"),
    path("segments/<id:segment_id>/versions/", api.SegmentVersionsView.as_view(), name="segment-versions"),
    path("segments/<id:segment_id>/compute/", api.ComputeView.as_view(), name="segment-compute"),
    path("segments/<id:segment_id>/members/", api.MembersView.as_view(), name="segment-members"),
    path("segments/<id:segment_id>/export/", api.ExportView.as_view(), name="segment-export"),
    path(
        "segments/exports/<uuid:export_id>/download/",
        api.ExportDownloadView.as_view(),
        name="segment-export-download",
    ),
]
