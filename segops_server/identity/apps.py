from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "segops_server.identity"
    label = "identity"
