from django.apps import AppConfig


class SchemasConfig(AppConfig):
    name = "segops_server.schemas"
    label = "schemas"
