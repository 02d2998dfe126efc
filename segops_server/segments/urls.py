"""Routes for segments."""

from django.urls import path, re_path

from segops_server.core.converters import IdConverter
from segops_server.segments import api

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
    # Included before the ingestion app's explorer routes, whose user_id pattern would swallow these.
    re_path(
        rf"^explorer/users/(?P<user_id>.+)/segments/(?P<segment_id>{IdConverter.regex})/explain/$",
        api.ExplainView.as_view(),
        name="explorer-user-explain",
    ),
    re_path(
        r"^explorer/users/(?P<user_id>.+)/segments/$",
        api.UserSegmentsView.as_view(),
        name="explorer-user-segments",
    ),
]
