"""Deletes a tenant's events, profiles and aliases in bulk when the tenant is deleted."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from segops_server.accounts.models import Tenant
from segops_server.ingestion.models import Event, IdentityAlias, ProfilePending, SeenMessage, UserProfile


@receiver(pre_delete, sender=Tenant)
def _purge_tenant_data(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    for model in (Event, UserProfile, IdentityAlias, SeenMessage):
        model.objects.for_tenant(instance)._raw_delete(model.objects.db)
    ProfilePending.objects.filter(tenant_id=instance.pk)._raw_delete(ProfilePending.objects.db)
