"""`segops run`'s process tree: the web server (granian) and the task worker as children of one
supervisor, which restarts the worker when it exits and stops both when told to or when the web
server ends."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

logger = logging.getLogger("segops.supervisor")

RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0  # a worker that ran this long restarts with the first delay again
WORKER_STOP_SECONDS = 5.0  # then SIGKILL: its lease makes another worker finish its task
SERVER_STOP_SECONDS = 35.0  # granian gives its workers 30 s to finish their requests
POLL_SECONDS = 0.2


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exited with code {returncode}"


def die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this process when its parent dies (called in a child
    between fork and exec); elsewhere the worker's own watch does it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:  # no glibc (e.g. musl): the worker's watch still covers it
        return


def _child_setup() -> None:  # pragma: no cover  (runs in the child between fork and exec)
    die_with_parent()


class Supervisor:
    """Runs the web server and the worker; `run()` returns the web server's exit code."""

    def __init__(
        self,
        *,
        server_argv: Sequence[str],
        worker_argv: Sequence[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server_argv = list(server_argv)
        self.worker_argv = list(worker_argv)
        self.clock = clock
        self.stopping = False
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_started = 0.0
        self.restart_at: float | None = None
        self.delay = RESTART_FIRST_SECONDS

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, preexec_fn=_child_setup)  # noqa: S603

    def start_worker(self) -> None:
        self.worker = self._spawn(self.worker_argv)
        self.worker_started = self.clock()
        self.restart_at = None

    def _stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def check_worker(self) -> None:
        """Restart the worker when it has exited, after a delay that doubles while it keeps dying."""
        now = self.clock()
        if self.restart_at is not None:
            if now >= self.restart_at:
                logger.warning("Restarting the task worker")
                self.start_worker()
            return
        if self.worker is None or self.worker.poll() is None:
            return
        if now - self.worker_started >= HEALTHY_AFTER_SECONDS:
            self.delay = RESTART_FIRST_SECONDS
        logger.error(
            "The task worker (pid %s) %s; restarting it in %.0f s",
            self.worker.pid,
            describe_exit(self.worker.returncode),
            self.delay,
        )
        self.restart_at = now + self.delay
        self.delay = min(RESTART_MAX_SECONDS, self.delay * 2)

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop_signal)
        # The worker first: a task queued by the first request finds it ready.
        self.start_worker()
        try:
            self.server = self._spawn(self.server_argv)
        except OSError as exc:
            logger.error("The web server could not start: %s", exc)
            self.shutdown()
            return 1
        while not self.stopping and self.server.poll() is None:
            self.check_worker()
            time.sleep(POLL_SECONDS)
        code = self.shutdown()
        return code

    def shutdown(self) -> int:
        """Stop the web server and the worker (SIGTERM, then SIGKILL past their grace periods)."""
        server_code = _stop(self.server, SERVER_STOP_SECONDS) if self.server is not None else 1
        if self.server is not None and not self.stopping:
            logger.error("The web server %s; stopping the task worker", describe_exit(server_code))
        if self.worker is not None:
            _stop(self.worker, WORKER_STOP_SECONDS)
        if self.stopping:
            return 0
        return server_code if server_code > 0 else 1


def _stop(process: subprocess.Popen[bytes], grace: float) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def granian_command() -> list[str]:
    """granian from this interpreter's own environment, found whatever PATH says."""
    return [sys.executable, "-m", "granian"]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "segops_server.cli", "worker", "--parent-pid", str(os.getpid())]
