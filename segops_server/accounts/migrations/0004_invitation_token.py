"""Invitations carry a single-use token (its hash) and expire.

Invitations made before this had no token, and their invitee was to join by merely signing up:
each gets a random hash that no token matches and expires at once (an Admin sees it as expired
and invites again, which sends a link).
"""

import secrets
from typing import Any

import django.utils.timezone
from django.db import migrations, models


def unacceptable(apps: Any, schema_editor: Any) -> None:
    invitation = apps.get_model("accounts", "Invitation")
    for pk in invitation.objects.values_list("pk", flat=True):
        invitation.objects.filter(pk=pk).update(token_hash=secrets.token_hex(32))  # matches no token


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_forget_replayed_secrets"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        # Existing rows get "now": expired, as nobody can accept them.
        migrations.AddField(
            model_name="invitation",
            name="expires_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.RunPython(unacceptable, migrations.RunPython.noop),
    ]
