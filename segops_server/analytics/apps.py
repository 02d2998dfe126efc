from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "segops_server.analytics"
    label = "analytics"
