from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "segops_server.keys"
    label = "keys"
    verbose_name = "API keys"
