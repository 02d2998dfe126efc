"""The explorer's routes, in one place and in the one order that works.

A user id is any string, sent URL-encoded, and the WSGI path arrives decoded, so `user_id` is
matched greedily (`.+`, slashes included). The routes that end in a fixed suffix therefore come
first: `…/segments/<id>/explain/`, then `…/segments/`, then `…/events/`, and the bare user last,
or the bare user's pattern would swallow the others. A user's profile, events and the search are
the explorer's views (explorer/api.py); a user's segments and the explain are the segments' delivery
views (segments/delivery/api.py: they read memberships and rules).
"""

from django.urls import URLPattern, path, re_path

from segops_server.core.converters import IdConverter
from segops_server.explorer import api
from segops_server.segments.delivery import api as delivery

urlpatterns: list[URLPattern] = [
    path("explorer/users/", api.UserListView.as_view(), name="explorer-users"),
    path("explorer/sandbox/publish/", api.SandboxView.as_view(), name="explorer-sandbox-publish"),
    re_path(
        rf"^explorer/users/(?P<user_id>.+)/segments/(?P<segment_id>{IdConverter.regex})/explain/$",
        delivery.ExplainView.as_view(),
        name="explorer-user-explain",
    ),
    re_path(
        r"^explorer/users/(?P<user_id>.+)/segments/$",
        delivery.UserSegmentsView.as_view(),
        name="explorer-user-segments",
    ),
    re_path(
        r"^explorer/users/(?P<user_id>.+)/events/$",
        api.UserEventsView.as_view(),
        name="explorer-user-events",
    ),
    re_path(r"^explorer/users/(?P<user_id>.+)/$", api.UserDetailView.as_view(), name="explorer-user"),
]
