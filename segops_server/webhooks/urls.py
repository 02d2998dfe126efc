"""Routes for webhooks and their deliveries."""

from django.urls import path

from segops_server.webhooks import api

urlpatterns = [
    path("webhooks/", api.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<id:webhook_id>/", api.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<id:webhook_id>/deliveries/", api.DeliveryListView.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver/",
        api.RedeliverView.as_view(),
        name="webhook-redeliver",
    ),
    path("webhooks/<id:webhook_id>/test/", api.PingView.as_view(), name="webhook-test"),
]
