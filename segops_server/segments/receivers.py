"""Deletes a tenant's materialised members in bulk when the tenant is deleted."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from segops_server.accounts.models import Tenant
from segops_server.segments.models import SegmentMember


@receiver(pre_delete, sender=Tenant)
def _purge_tenant_members(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    SegmentMember.objects.for_tenant(instance)._raw_delete(SegmentMember.objects.db)
