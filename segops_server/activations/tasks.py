"""The task that queues a full sync's batches, run by the task worker (`segops worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def sync_fill(sync_id: int) -> None:
    from segops_server.activations.plan import sync_fill_run

    sync_fill_run(sync_id=sync_id)
