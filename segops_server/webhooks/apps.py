from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "segops_server.webhooks"
    label = "webhooks"
