from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "segops_server.core"
    label = "core"

    def ready(self) -> None:
        from segops_server.core import (
            schema,  # noqa: F401  (registers OpenAPI extensions)
            sqllists,  # noqa: F401  (registers the `among` lookup)
        )
