from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "segops_server.audit"
    label = "audit"

    def ready(self) -> None:
        from segops_server.audit import receivers  # noqa: F401  (connects signal receivers)
