"""Background work for segments, run by the task worker (`segops worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def compute_segment(segment_id: int) -> None:
    from segops_server.segments.services import segment_compute_run

    segment_compute_run(segment_id=segment_id)


@task()
def refresh_due_segments() -> int:
    """Queue a compute for every segment whose refresh interval has passed."""
    from segops_server.segments.services import segments_refresh_due

    return segments_refresh_due()


@task()
def export_segment(export_id: str) -> None:
    from segops_server.segments.exports import export_run

    export_run(export_id=export_id)
