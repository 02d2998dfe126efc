"""Every invitation now has a token hash (0004 gave old ones an unusable one) and an expiry.

Separate from 0004 so that PostgreSQL alters the table in a transaction with no pending
row updates.
"""

from django.db import migrations, models

import segops_server.accounts.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_invitation_token"),
    ]

    operations = [
        migrations.AlterField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(
                default=segops_server.accounts.models.unusable_token_hash,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="expires_at",
            field=models.DateTimeField(default=segops_server.accounts.models.invitation_expiry),
        ),
    ]
