"""GET /metrics: the Prometheus text exposition, for Prometheus and nobody else (see access.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from segops_server.observability import multiproc
from segops_server.observability.access import metrics_access_allowed
from segops_server.observability.collectors import scrape_collectors


class _ThisProcess(Collector):
    """What this process counted, when there is no multiprocess directory to add up."""

    def collect(self) -> list[Metric]:
        return list(REGISTRY.collect())


def scrape_registry() -> CollectorRegistry:
    # auto_describe off: registering a collector must not run its database queries.
    registry = CollectorRegistry(auto_describe=False)
    if multiproc.enabled():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in scrape_collectors():
        registry.register(collector)
    return registry


def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_access_allowed(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    # The 0.0.4 text format, which every Prometheus version reads (our names need no escaping, so
    # the body is the same in both versions).
    response = HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
