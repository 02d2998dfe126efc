"""Deletes a tenant's materialised members and membership changes in bulk when the tenant is
deleted; drops the processes' membership snapshots, and what they know of which tenants keep a
segment live, whenever a segment is created, changed or deleted."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from segops_server.accounts.models import Tenant
from segops_server.segments.delivery import snapshots
from segops_server.segments.live import gate
from segops_server.segments.models import Segment, SegmentChange, SegmentMember


@receiver(pre_delete, sender=Tenant)
def _purge_tenant_members(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    SegmentMember.objects.for_tenant(instance)._raw_delete(SegmentMember.objects.db)
    SegmentChange.objects.for_tenant(instance)._raw_delete(SegmentChange.objects.db)


@receiver(post_save, sender=Segment)
@receiver(post_delete, sender=Segment)
def _segment_changed(sender: Any, instance: Segment, **kwargs: Any) -> None:
    snapshots.changed()
    gate.changed()  # which tenants keep a segment live
