"""Tasks queued before the tasks moved to segments.compute and segments.exports still run: their
rows name the tasks' former dotted paths, which the worker imports."""

from __future__ import annotations

from typing import Any

import pytest
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from segops_server.segments.compute.tasks import compute_segment
from segops_server.segments.exports.tasks import export_segment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("former_path", "task"),
    [
        ("segops_server.segments.tasks.compute_segment", compute_segment),
        ("segops_server.segments.tasks.export_segment", export_segment),
    ],
)
def test_it_runs_a_task_queued_under_its_former_path(former_path: str, task: Any) -> None:
    row = DBTaskResult.objects.create(
        args_kwargs={"args": [1], "kwargs": {}},
        task_path=former_path,
        backend_name="default",
        queue_name="default",
        run_after=get_date_max(),
        status=TaskResultStatus.READY,
    )
    assert row.task.func is task.func


def test_new_rows_name_the_tasks_own_modules() -> None:
    assert compute_segment.module_path == "segops_server.segments.compute.tasks.compute_segment"
    assert export_segment.module_path == "segops_server.segments.exports.tasks.export_segment"
