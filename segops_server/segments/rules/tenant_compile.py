"""Compiling a rule over one tenant's data: the one way every reader of members-to-be does it.

A compute, a preview, an estimate, explain and the sandbox must agree on who matches, so they all
compile here: the database's dialect, the tenant's saved segments (segment_membership) and its
identity edges (aliases and merges: identity/selectors.py) are decided once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from segops_server.accounts.models import Tenant
from segops_server.identity.selectors import edges_exist
from segops_server.segments.rules.compiler import definition_compile
from segops_server.segments.rules.dsl import LookupDefinition
from segops_server.segments.rules.lookup import definition_lookup


def tenant_definition_compile(
    definition: dict[str, Any],
    *,
    tenant: Tenant,
    now: datetime,
    lookup: LookupDefinition | None = None,
    only_users: list[str] | None = None,
) -> tuple[str, list[Any]]:
    """(sql, params) selecting the distinct user_id of `tenant`'s users matching `definition` at
    `now`. `lookup`: the tenant's saved definitions, when the caller already has it. `only_users`:
    only those (resolved) users are read and can match (real-time evaluation)."""
    return definition_compile(
        definition,
        tenant_id=tenant.pk,
        vendor=connection.vendor,
        now=now,
        lookup_definition=lookup or definition_lookup(tenant),
        resolve_identities=edges_exist(tenant=tenant),
        only_users=only_users,
    )
