"""Replay records written before secrets were kept out of them still hold API keys and HMAC
secrets (for up to 24 hours): delete them. Such a retry then acts as a new request.

Kept in accounts, next to the people whose keys these are, so core needs no new migration;
it only reads and deletes core's rows.
"""

from typing import Any

from django.db import migrations


def forget(apps: Any, schema_editor: Any) -> None:
    stored = apps.get_model("core", "IdempotentResponse")
    stored.objects.filter(body__has_key="key").delete()
    stored.objects.filter(body__has_key="hmac_secret").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_tenant_plan"),
        ("core", "0002_quota_counter"),
    ]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
