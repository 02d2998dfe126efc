"""The export task, run by the task worker (`segops worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def export_segment(export_id: str) -> None:
    from segops_server.segments.exports.services import export_run

    export_run(export_id=export_id)
