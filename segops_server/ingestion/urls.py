"""Routes for ingestion (the explorer's routes are all in explorer/urls.py)."""

from django.urls import path

from segops_server.ingestion import api

urlpatterns = [
    path("ingestion/track/", api.TrackView.as_view(), name="track"),
    path("ingestion/track/batch/", api.TrackBatchView.as_view(), name="track-batch"),
]
