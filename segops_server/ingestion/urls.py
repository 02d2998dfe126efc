"""Routes for ingestion and the explorer's user reads (user ids arrive URL-encoded)."""

from django.urls import path, re_path

from segops_server.ingestion import api

urlpatterns = [
    path("ingestion/track/", api.TrackView.as_view(), name="track"),
    path("ingestion/track/batch/", api.TrackBatchView.as_view(), name="track-batch"),
    path("explorer/users/", api.UserListView.as_view(), name="explorer-users"),
    re_path(
        r"^explorer/users/(?P<user_id>.+)/events/$",
        api.UserEventsView.as_view(),
        name="explorer-user-events",
    ),
    re_path(r"^explorer/users/(?P<user_id>.+)/$", api.UserDetailView.as_view(), name="explorer-user"),
]
