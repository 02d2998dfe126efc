from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segops_server.segments"
    label = "segments"

    def ready(self) -> None:
        from segops_server.segments import receivers  # noqa: F401  (purges members with their tenant)
