"""Base views for endpoints acting on one tenant: the context their policy decided (see
accounts/permissions.py), the request's log note, idempotent replays and tenant-only querysets."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.views import APIView

from segops_server.access.policy import Policy
from segops_server.access.quota import events_admit
from segops_server.access.tenants import TenantContext
from segops_server.accounts.models import Tenant
from segops_server.core.idempotency import idempotency_key, idempotency_replay, idempotency_store
from segops_server.core.scoping import tenant_manager
from segops_server.observability.context import tenant_note


class TenantScopedMixin:
    """A view acting on one tenant: its context, the request's log note and idempotent replays."""

    policy: ClassVar[Policy]
    tenant_context: TenantContext
    idempotency_key: str | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if not hasattr(self, "tenant_context"):
            return  # a method the view does not have: DRF answers 405
        tenant_note(self.tenant.pk)  # for the request's log lines
        self.idempotency_key = idempotency_key(request)
        if self.idempotency_key:
            idempotency_replay(request, tenant_id=self.tenant.pk, key=self.idempotency_key)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        key = getattr(self, "idempotency_key", None)
        if key and hasattr(self, "tenant_context"):
            idempotency_store(request, response, tenant_id=self.tenant.pk, key=key)
        return response

    def object_tenant_id(self, **kwargs: Any) -> int | None:
        """Views whose URL names one object may say which tenant owns it (see tenant_resolve)."""
        return None

    def events_charge(self, count: int) -> None:
        """Count `count` stored events against the tenant's plan (an EVENTS policy's quota)."""
        events_admit(self.policy, self.tenant, count)

    @property
    def tenant(self) -> Tenant:
        return self.tenant_context.tenant


class TenantScopedAPIView(TenantScopedMixin, APIView):
    pass


class TenantScopedGenericView(TenantScopedMixin, generics.GenericAPIView[models.Model]):
    """Querysets come from `model.objects.for_tenant(...)`: another tenant's object is a 404."""

    model: ClassVar[type[models.Model]]

    def get_queryset(self) -> models.QuerySet[Any]:
        return tenant_manager(self.model).for_tenant(self.tenant)
