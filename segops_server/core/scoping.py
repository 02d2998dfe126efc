"""The tenant choke point for queries: tenant-owned rows are reachable only through a tenant."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models

M = TypeVar("M", bound=models.Model)


class UnscopedQueryError(RuntimeError):
    """Raised when code asks for tenant-owned rows without naming the tenant."""


class TenantScopedManager(models.Manager[M], Generic[M]):
    """Default manager of every tenant-owned model.

    `Model.objects.all()` (or filter, get, count...) raises: a forgotten tenant filter fails
    closed instead of leaking every tenant's rows. Reads go through `for_tenant(tenant)`;
    the rare cross-tenant job says so with `unscoped_all_tenants()`.
    """

    def get_queryset(self) -> models.QuerySet[M]:
        raise UnscopedQueryError(
            f"{self.model.__name__} rows belong to a tenant: use "
            f"{self.model.__name__}.objects.for_tenant(tenant)."
        )

    def for_tenant(self, tenant: Any) -> models.QuerySet[M]:
        if tenant is None:
            raise UnscopedQueryError(f"{self.model.__name__}.objects.for_tenant(None)")
        return super().get_queryset().filter(tenant=tenant)

    def unscoped_all_tenants(self) -> models.QuerySet[M]:
        """Every tenant's rows. Only for operator jobs that really span tenants."""
        return super().get_queryset()


def tenant_manager(model: type[M]) -> TenantScopedManager[M]:
    """The model's TenantScopedManager, for code handed a model class; a model that is not
    tenant-owned is refused rather than queried unscoped (fail closed)."""
    manager = model._default_manager
    if not isinstance(manager, TenantScopedManager):
        raise ImproperlyConfigured(f"{model.__name__} is not tenant-owned (no TenantScopedManager).")
    return manager
