"""Routes for event schemas (spec §17), under /api/schemas/."""

from django.urls import path

from segops_server.schemas import api

urlpatterns = [
    path("schemas/", api.SchemaListView.as_view(), name="schema-list"),
    path("schemas/infer/", api.SchemaInferView.as_view(), name="schema-infer"),
    path("schemas/validate/", api.SchemaValidateView.as_view(), name="schema-validate"),
    path("schemas/<id:schema_id>/", api.SchemaDetailView.as_view(), name="schema-detail"),
]
