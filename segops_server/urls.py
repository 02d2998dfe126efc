"""Root routes: the API under /api/, health probes, OpenAPI docs and the console."""

from django.urls import URLPattern, URLResolver, include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from segops_server.core import views as core_views
from segops_server.core.converters import IdConverter
from segops_server.observability import views as observability_views

register_converter(IdConverter, "id")

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("segops_server.accounts.urls")),
    path("", include("segops_server.keys.urls")),
    path("", include("segops_server.audit.urls")),
    path("", include("segops_server.segments.urls")),
    path("", include("segops_server.ingestion.urls")),
    path("", include("segops_server.explorer.urls")),
    path("", include("segops_server.webhooks.urls")),
    path("", include("segops_server.activations.urls")),
    path("", include("segops_server.schemas.urls")),
    path("", include("segops_server.analytics.urls")),
    path("", include("segops_server.identity.urls")),
    # Out of scope (spec §10): one catch-all for all of their routes, every method a 404 saying so.
    re_path(
        rf"^(?P<feature>{core_views.NOT_INSTALLED_PATTERN})(?:/.*)?$",
        core_views.not_installed,
        name="not-installed",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start script as a file (/api/docs/?script=): no inline script, so
    # the page runs under the console's Content-Security-Policy. GET only: its HTML renderer has
    # no template for an OPTIONS answer (that was a 500).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="core/swagger_ui.html", http_method_names=["get", "head"]
        ),
        name="docs",
    ),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    # Prometheus, off the public API (not in the OpenAPI schema; 404 to anyone not allowed).
    path("metrics", observability_views.metrics, name="metrics"),
    # The console last: its routes sit at the root, so the API and probes above win.
    path("", include("segops_server.console.urls")),
]

handler400 = "segops_server.core.views.bad_request"
handler403 = "segops_server.core.views.permission_denied"
handler404 = "segops_server.core.views.not_found"
handler500 = "segops_server.core.views.server_error"
