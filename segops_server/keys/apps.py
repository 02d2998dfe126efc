from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "segops_server.keys"
    label = "keys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from segops_server.keys import receivers  # noqa: F401  (drops cached keys on any key change)
