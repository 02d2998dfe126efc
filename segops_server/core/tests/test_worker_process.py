"""The task worker process and its supervisor: transient database errors are waited out (one log
line per outage), the worker beats and leaves with its server, `segops run` restarts a worker that
exits and stops everything when the web server ends or fails to start."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from segops_server.core import runner, supervisor
from segops_server.core.models import WorkerHeartbeat
from segops_server.core.supervisor import Supervisor, describe_exit
from segops_server.core.workers import heartbeat_record, heartbeats_purge, worker_heartbeats

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def _exit(code: int) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.exit({code})"]


def test_it_retries_transient_database_errors_and_logs_one_line_per_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures: list[BaseException] = [
        OperationalError("database is locked"),
        InterfaceError("connection already closed"),
    ]
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        if failures:
            raise failures.pop(0)

    answers = iter([False, False, False, True, True])
    slept: list[float] = []
    with (
        caplog.at_level(logging.WARNING, logger="segops.worker"),
        mock.patch.object(runner, "_close_connections"),
    ):
        runner.run_resilient(work, sleep=slept.append, reachable=lambda: next(answers))

    assert len(calls) == 3  # ran again after each error, returned when the work did
    assert slept == [0.5, 1.0, 2.0]  # backoff while the database stayed away
    unavailable = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    recovered = [r for r in caplog.records if "available again" in r.getMessage()]
    assert len(unavailable) == 2  # one per outage, not one per try
    assert "database is locked" in unavailable[0].getMessage()
    assert len(recovered) == 2


def test_it_lets_other_errors_through() -> None:
    def work() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        runner.run_resilient(work, sleep=lambda _: None, reachable=lambda: True)


def test_backoff_doubles_up_to_a_cap() -> None:
    delay = runner.backoff_delays(0.5, 3.0)
    assert [delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_a_worker_started_after_its_server_died_does_not_start() -> None:
    with mock.patch.object(runner, "TaskWorker") as worker:
        assert runner.worker_main(parent=999_999_999, heartbeat_seconds=1, scheduler=lambda: None) == 0
    worker.assert_not_called()


@pytest.mark.django_db
def test_it_records_reads_and_purges_heartbeats() -> None:
    now = timezone.now()
    heartbeat_record(worker="old", started_at=now, now=now - timedelta(days=2))
    heartbeat_record(worker="quiet", started_at=now, now=now - timedelta(minutes=5))
    heartbeat_record(worker="busy", started_at=now, now=now - timedelta(seconds=10))
    heartbeat_record(worker="busy", started_at=now, now=now)  # the same row, moved forward

    infos = worker_heartbeats(now=now)
    assert [(w.worker_id, w.alive) for w in infos] == [("busy", True), ("quiet", False)]
    assert infos[0].age_seconds == 0
    assert infos[1].age_seconds == 300
    assert heartbeats_purge(now=now) == 1
    assert WorkerHeartbeat.objects.count() == 2


def test_it_describes_how_a_process_ended() -> None:
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-200) == "killed by signal 200"


def test_the_supervisor_restarts_a_worker_that_exits_with_growing_delays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = {"now": 0.0}
    boss = Supervisor(server_argv=SLEEP, worker_argv=_exit(3), clock=lambda: clock["now"])
    boss.start_worker()
    assert boss.worker is not None
    boss.worker.wait(timeout=30)
    with caplog.at_level(logging.WARNING, logger="segops.supervisor"):
        boss.check_worker()  # notices the exit: restart in 1 s
        first = boss.worker
        boss.check_worker()
        assert boss.worker is first  # not before the delay
        clock["now"] = 1.0
        boss.check_worker()
        assert boss.worker is not first  # restarted
        boss.worker.wait(timeout=30)
        boss.check_worker()  # exited again at once: next delay 2 s
        assert boss.restart_at == 3.0
    assert "The task worker (pid" in caplog.text
    assert "exited with code 3; restarting it in 1 s" in caplog.text
    assert "restarting it in 2 s" in caplog.text


def test_the_supervisor_stops_the_worker_when_the_server_exits() -> None:
    boss = Supervisor(server_argv=_exit(2), worker_argv=SLEEP)
    with mock.patch("signal.signal"):
        started = time.monotonic()
        assert boss.run() == 2
    assert boss.worker is not None
    assert boss.worker.poll() is not None  # not left running
    assert time.monotonic() - started < 10


def test_the_supervisor_stops_the_worker_when_the_server_cannot_start() -> None:
    boss = Supervisor(server_argv=["/nonexistent/granian"], worker_argv=SLEEP)
    with mock.patch("signal.signal"):
        assert boss.run() == 1
    assert boss.worker is not None
    assert boss.worker.poll() is not None


def test_the_supervisor_stops_both_on_a_signal() -> None:
    boss = Supervisor(server_argv=SLEEP, worker_argv=SLEEP)
    with mock.patch("signal.signal") as handlers, mock.patch.object(supervisor.time, "sleep") as sleep:

        def stop_soon(_: float) -> None:
            handlers.call_args_list[0].args[1](15, None)  # SIGTERM arrives

        sleep.side_effect = stop_soon
        assert boss.run() == 0
    assert boss.server is not None
    assert boss.worker is not None
    assert boss.server.poll() is not None
    assert boss.worker.poll() is not None


def test_granian_is_found_through_this_interpreter() -> None:
    command = supervisor.granian_command()
    result = subprocess.run(
        [*command, "--version"], capture_output=True, timeout=60, env={"PATH": "/nonexistent"}, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_worker_beats_works_the_queue_and_says_goodbye() -> None:
    scheduled: list[int] = []
    with mock.patch.object(runner, "TaskWorker") as worker_class:
        worker = worker_class.return_value
        worker.running = True
        worker.run.side_effect = lambda: time.sleep(0.5)  # long enough for a first heartbeat
        code = runner.worker_main(
            parent=os.getppid(), heartbeat_seconds=0.1, scheduler=lambda: scheduled.append(1)
        )
    assert code == 0
    assert worker.configure_signals.called
    assert worker_class.call_args.kwargs["worker_id"] == runner.worker_id()
    assert scheduled == [1]
    assert not WorkerHeartbeat.objects.filter(worker_id=runner.worker_id()).exists()  # removed on exit


@pytest.mark.django_db
def test_the_heartbeat_survives_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    beats = iter([OperationalError("server closed the connection"), OperationalError("again"), None])

    def record(**kwargs: Any) -> None:
        error = next(beats)
        if error is not None:
            raise error
        stop.set()

    with (
        caplog.at_level(logging.WARNING, logger="segops.worker"),
        mock.patch.object(runner, "heartbeat_record", side_effect=record),
        mock.patch.object(runner, "_close_connections"),
    ):
        runner._heartbeat_loop("w1", 0.01, stop)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("database unavailable" in m for m in messages) == 1
    assert sum("available again" in m for m in messages) == 1


def test_a_stop_signal_ends_the_worker_cleanly() -> None:
    with (
        mock.patch.object(runner, "TaskWorker") as worker_class,
        mock.patch.object(runner, "_forget") as forget,
        mock.patch.object(runner, "_heartbeat_loop"),  # no database in this test
    ):
        worker_class.return_value.run.side_effect = SystemExit(0)
        assert runner.worker_main(parent=None, heartbeat_seconds=60, scheduler=lambda: None) == 0
    forget.assert_called_once_with(runner.worker_id())


@pytest.mark.django_db
def test_it_probes_the_database_before_working_again() -> None:
    assert runner._database_reachable() is True
    with mock.patch.object(runner, "connection") as connection:
        connection.cursor.side_effect = OperationalError("connection refused")
        assert runner._database_reachable() is False


def test_the_worker_leaves_when_its_server_is_gone() -> None:
    with (
        mock.patch.object(runner, "parent_alive", side_effect=[True, False]),
        mock.patch.object(runner.time, "sleep"),
        mock.patch.object(runner, "_forget") as forget,
        mock.patch.object(runner.os, "_exit") as exit_,
    ):
        runner._parent_watch(12345)
    forget.assert_called_once_with(runner.worker_id())
    exit_.assert_called_once_with(0)


def test_a_child_can_ask_to_die_with_its_parent() -> None:
    code = "from segops_server.core.supervisor import die_with_parent; die_with_parent(); print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert result.stdout.strip() == b"ok", result.stderr


@pytest.mark.django_db
def test_a_task_interrupted_by_an_outage_is_queued_again(settings: Any) -> None:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from segops_server.segments.compute.tasks import compute_segment

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    queued = compute_segment.enqueue(12345)
    row = DBTaskResult.objects.get(pk=queued.id)
    row.claim("this-worker")
    worker = runner.TaskWorker(
        queue_names=["default"],
        interval=1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="this-worker",
        excluded_queue_names=[],
    )
    failures = [OperationalError("server closed the connection unexpectedly")]

    def run() -> None:  # the database goes away in the middle of the task
        worker.current = row
        if failures:
            raise failures.pop()

    with mock.patch.object(runner, "_close_connections"):
        runner.run_resilient(
            run, sleep=lambda _: None, reachable=lambda: True, recovered=worker.requeue_interrupted
        )
    fresh = DBTaskResult.objects.get(pk=queued.id)
    assert fresh.status == TaskResultStatus.READY
    assert fresh.started_at is None
