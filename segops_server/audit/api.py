"""The audit log endpoint (Admin and Owner)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.audit.selectors import audit_events_of_tenant
from segops_server.audit.serializers import AuditEventSerializer, AuditQuerySerializer
from segops_server.core.pagination import PageNumberPagination, paginated_response


class AuditLogView(TenantScopedAPIView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope
    policy = rules.AUDIT

    @extend_schema(parameters=[AuditQuerySerializer], responses=AuditEventSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = audit_events_of_tenant(tenant=self.tenant, action=query.validated_data.get("action"))
        return paginated_response(self, request, events, AuditEventSerializer)
