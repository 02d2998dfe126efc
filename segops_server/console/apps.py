from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "segops_server.console"
    label = "console"
    verbose_name = "Web console"
