"""The tasks' former dotted paths, kept so that tasks queued before an upgrade still run.

A queued task's row stores its task's dotted path (django-tasks' `task_path`), and the worker
imports that path to run it: rows queued as `segops_server.segments.tasks.compute_segment` or
`...export_segment` find the same tasks here. New rows name the tasks' own modules. While such an
old row waits, the rescue (core/workers.py `tasks_waiting`) looks for the new path only, so it may
queue that work once more; both runs are harmless, as every task is idempotent. This module can go
once no worker can still hold rows queued before the move.
"""

from segops_server.segments.compute.tasks import compute_segment
from segops_server.segments.exports.tasks import export_segment

__all__ = ["compute_segment", "export_segment"]
