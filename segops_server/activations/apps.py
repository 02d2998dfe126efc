from django.apps import AppConfig


class ActivationsConfig(AppConfig):
    name = "segops_server.activations"
    label = "activations"
