"""Writes the console needs that no feature app offers yet."""

from __future__ import annotations

from django.db import transaction

from segops_server.accounts.models import Tenant


@transaction.atomic
def tenant_delete(*, tenant: Tenant) -> None:
    """Everything goes with it: keys, segments, memberships (cascade) and events (pre_delete receivers)."""
    tenant.delete()
