"""Routes for activations (spec §11), under /api/activations/."""

from django.urls import path

from segops_server.activations import api

urlpatterns = [
    path("activations/", api.ActivationListView.as_view(), name="activation-list"),
    path("activations/<id:activation_id>/", api.ActivationDetailView.as_view(), name="activation-detail"),
    path("activations/<id:activation_id>/sync/", api.ActivationSyncView.as_view(), name="activation-sync"),
    path("activations/<id:activation_id>/syncs/", api.ActivationSyncsView.as_view(), name="activation-syncs"),
]
