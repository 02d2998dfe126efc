"""The plan limits a call counts against (a policy's `quota`): calls a minute, events a month."""

from __future__ import annotations

from segops_server.access.policy import Policy, Quota
from segops_server.accounts.models import Tenant
from segops_server.accounts.plans import PLANS, PlanName
from segops_server.core.errors import QuotaExceeded
from segops_server.core.quotas import per_minute_take, per_month_take


def calls_take(tenant: Tenant) -> None:
    """Count one call against the tenant's calls a minute; QuotaExceeded (nothing counted) when full."""
    limit = PLANS[PlanName(tenant.plan)].calls_per_minute
    if limit is not None:
        wait = per_minute_take(name=f"calls:{tenant.pk}", amount=1, limit=limit)
        _refuse_if_full(wait, Quota.CALLS, f"The {tenant.plan} plan allows {limit} API calls a minute.")


def events_take(tenant: Tenant, count: int) -> None:
    """Count `count` events against the month's; QuotaExceeded (nothing counted) when they do not fit."""
    limit = PLANS[PlanName(tenant.plan)].events_per_month
    if limit is not None and count:
        wait = per_month_take(name=f"events:{tenant.pk}", amount=count, limit=limit)
        _refuse_if_full(wait, Quota.EVENTS, f"The {tenant.plan} plan allows {limit} events a month.")


def _refuse_if_full(wait: int | None, quota: Quota, detail: str) -> None:
    if wait is not None:
        raise QuotaExceeded(quota=quota, wait=wait, detail=detail)


def call_admit(policy: Policy, tenant: Tenant) -> None:
    """What a call costs once its right is known: one call for a CALLS policy, nothing otherwise."""
    if policy.quota is Quota.CALLS:
        calls_take(tenant)


def events_admit(policy: Policy, tenant: Tenant, count: int) -> None:
    """What storing `count` events costs: the month's events for an EVENTS policy."""
    if policy.quota is not Quota.EVENTS:
        raise AssertionError(f"events counted on a {policy.quota} policy")
    events_take(tenant, count)
