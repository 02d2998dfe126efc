"""Plans: how many events a tenant may send a month and how many API calls a minute."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class PlanName(models.TextChoices):
    FREE = "free", "Free"
    STARTER = "starter", "Starter"
    BUSINESS = "business", "Business"
    ENTERPRISE = "enterprise", "Enterprise"


@dataclass(frozen=True)
class Plan:
    events_per_month: int | None  # None: unlimited
    calls_per_minute: int | None


PLANS = {
    PlanName.FREE: Plan(events_per_month=500_000, calls_per_minute=60),
    PlanName.STARTER: Plan(events_per_month=5_000_000, calls_per_minute=300),
    PlanName.BUSINESS: Plan(events_per_month=50_000_000, calls_per_minute=1_000),
    PlanName.ENTERPRISE: Plan(events_per_month=None, calls_per_minute=None),
}
