"""Webhook tests' helpers: a segment with buyers, a compute, a webhook, a real receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.orders import bought_rule, orders_send
from segops_server.testing.orders import compute as compute  # the tests import it from here
from segops_server.testing.receiver import Receiver
from segops_server.webhooks.models import WEBHOOK_EVENTS, Delivery, Webhook
from segops_server.webhooks.signing import secret_generate

rule = bought_rule


def orders(team: Team, counts: dict[str, int]) -> None:
    orders_send(team, **counts)


def webhook_make(team: Team, url: str, **fields: Any) -> Webhook:
    values: dict[str, Any] = {"secret": secret_generate(), "events": list(WEBHOOK_EVENTS), **fields}
    return Webhook.objects.unscoped_all_tenants().create(tenant=team.tenant, url=url, **values)


def deliveries(hook: Webhook) -> list[Delivery]:
    return list(Delivery.objects.for_tenant(hook.tenant).filter(webhook=hook).order_by("id"))


@pytest.fixture
def segment(team: Team) -> Segment:
    orders(team, {"ann": 1, "bob": 2, "cat": 3})
    return segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=rule(1))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


@pytest.fixture
def private_urls(settings: Any) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = True
