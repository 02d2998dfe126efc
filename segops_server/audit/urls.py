"""Routes for the audit log."""

from django.urls import path

from segops_server.audit import api

urlpatterns = [path("audit-log/", api.AuditLogView.as_view(), name="audit-log")]
