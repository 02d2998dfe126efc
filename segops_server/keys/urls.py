"""Routes for API keys and the public-key handshake."""

from django.urls import path

from segops_server.keys import api

urlpatterns = [
    path("auth/api-keys/", api.ApiKeyListView.as_view(), name="api-key-list"),
    path("auth/api-keys/revoke-leaked/", api.RevokeLeakedView.as_view(), name="api-key-revoke-leaked"),
    path("auth/api-keys/<id:key_id>/", api.ApiKeyDetailView.as_view(), name="api-key-detail"),
    path("auth/api-keys/<id:key_id>/roll/", api.ApiKeyRollView.as_view(), name="api-key-roll"),
    path("auth/session/", api.SessionView.as_view(), name="session"),
    path("auth/whoami/", api.WhoAmIView.as_view(), name="whoami"),
]
