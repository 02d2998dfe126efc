"""Aliases recorded before anonymous ids had their own id space, also under `anon_<anonymous_id>`.

Until now an anonymous visitor's events were stored under the bare anonymous id `x` and its
alias was `x -> user`. From now on they are stored under `anon_x` (core/ids.py), so each alias
is also recorded as `anon_x -> user`: a visitor identified before the upgrade keeps counting for
that user when it comes back anonymous. The old row stays, so the events already stored under
`x` keep counting too. Events are not rewritten: nothing tells an anonymous visitor's old events
from a user's of the same id (which is why the id spaces were split).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

PREFIX = "anon_"  # core/ids.py's ANONYMOUS_PREFIX, frozen here as migrations must be
MAX_ID_LENGTH = 255
BATCH = 1000


def aliases_copy_to_anonymous_space(apps: Any, schema_editor: Any) -> None:
    alias_model = apps.get_model("ingestion", "IdentityAlias")
    manager = alias_model._default_manager.using(schema_editor.connection.alias)
    rows = manager.order_by("pk").values_list("tenant_id", "anonymous_id", "user_id", "created_at")
    batch: list[Any] = []
    for tenant_id, anonymous_id, user_id, created_at in rows.iterator(chunk_size=BATCH):
        uid = PREFIX + anonymous_id
        if len(uid) > MAX_ID_LENGTH or uid == user_id:
            continue  # no visitor can send such an anonymous id any more, or it is the user itself
        batch.append(
            alias_model(tenant_id=tenant_id, anonymous_id=uid, user_id=user_id, created_at=created_at)
        )
        if len(batch) >= BATCH:
            manager.bulk_create(batch, ignore_conflicts=True)  # an existing alias is never rewritten
            batch = []
    if batch:
        manager.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("ingestion", "0001_initial")]

    operations = [
        migrations.RunPython(aliases_copy_to_anonymous_space, migrations.RunPython.noop, elidable=True)
    ]
