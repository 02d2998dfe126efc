"""Routes for identity (spec §14), under /api/identity/."""

from django.urls import path

from segops_server.identity import api

urlpatterns = [
    path("identity/alias/", api.AliasView.as_view(), name="identity-alias"),
    path("identity/merge/", api.MergeView.as_view(), name="identity-merge"),
]
