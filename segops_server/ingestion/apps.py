from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "segops_server.ingestion"
    label = "ingestion"

    def ready(self) -> None:
        from segops_server.ingestion import receivers  # noqa: F401  (purges events with their tenant)
