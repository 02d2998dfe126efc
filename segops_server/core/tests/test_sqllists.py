"""Lists as one JSON parameter (core/sqllists.py): the same rows as a placeholder per value."""

from __future__ import annotations

import pytest
from django.db import connection

from segops_server.core.sqllists import json_param, rows_sql
from segops_server.segments.models import LivePending
from segops_server.testing.factories import make_tenant

pytestmark = pytest.mark.django_db

ODD = ["a", "o'brien", 'say "hi"', "ünï", "back\\slash", "%s", "x" * 250]


def test_among_matches_what_in_matches_for_text_and_integer_columns() -> None:
    tenant = make_tenant()
    rows = LivePending.objects.for_tenant(tenant).bulk_create(
        LivePending(tenant=tenant, user_id=u, due_at="2026-01-01T00:00:00Z") for u in ODD
    )
    pending = LivePending.objects.for_tenant(tenant)
    wanted = [*ODD[1:4], "nobody"]
    assert set(pending.filter(user_id__among=wanted).values_list("user_id", flat=True)) == set(ODD[1:4])
    ids = [rows[0].pk, rows[-1].pk, 10**12]
    assert set(pending.filter(id__among=ids).values_list("user_id", flat=True)) == {ODD[0], ODD[-1]}
    assert not pending.filter(user_id__among=[]).exists()


def test_rows_come_back_typed_and_in_list_order() -> None:
    sql = rows_sql([("user_id", "text"), ("n", "bigint")])
    with connection.cursor() as cursor:
        cursor.execute(sql, [json_param([u, n] for n, u in enumerate(reversed(ODD)))])
        got = cursor.fetchall()
    assert [(u, int(n)) for u, n in got] == [(u, n) for n, u in enumerate(reversed(ODD))]
