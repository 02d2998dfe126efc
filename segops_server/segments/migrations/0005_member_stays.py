"""Members as stays (generation .. until_generation): a compute writes only who came and who left.

Before, each compute wrote its whole set as a new generation and deleted the old one. Every row
left is a member of its segment's current generation, as a stay that has not ended; rows of any
other generation (an interrupted compute's) are deleted, as the next compute would have."""

from typing import Any

from django.db import migrations, models


def _other_generations_delete(apps: Any, schema_editor: Any) -> None:
    members = apps.get_model("segments", "SegmentMember")._meta.db_table
    segments = apps.get_model("segments", "Segment")._meta.db_table
    schema_editor.execute(
        f"DELETE FROM {members} WHERE generation <> "  # noqa: S608
        f"(SELECT s.generation FROM {segments} s WHERE s.id = {members}.segment_id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_invitation_token_required"),
        ("segments", "0004_segment_changes"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="segmentmember", name="segment_member_unique"),
        migrations.AddField(
            model_name="segmentmember",
            name="until_generation",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(_other_generations_delete, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="segmentmember",
            constraint=models.UniqueConstraint(
                fields=("segment", "user_id", "generation"), name="segment_member_stay"
            ),
        ),
    ]
