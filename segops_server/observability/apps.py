"""The observability app: no models; checks its settings and ends each request's log context."""

from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "segops_server.observability"
    label = "observability"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from segops_server.observability.access import allowed_networks
        from segops_server.observability.context import request_end

        allowed_networks()  # a malformed SEGOPS_METRICS_ALLOW_IPS stops the server at start
        request_finished.connect(request_end, dispatch_uid="segops-request-context-end")
