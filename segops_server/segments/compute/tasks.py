"""The compute task, run by the task worker (`segops worker`).

Segments due for a refresh are not a task: the worker's scheduler round (cli.py) queues
their computes directly, the one path."""

from __future__ import annotations

from django_tasks import task


@task()
def compute_segment(segment_id: int) -> None:
    from segops_server.segments.compute.services import segment_compute_run

    segment_compute_run(segment_id=segment_id)
