"""The `segops` operator command: run the server, manage the database, scan for leaked keys,
copy events to ClickHouse."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from segops_server.core.supervisor import Supervisor, granian_command, worker_command


def _setup_django(*, metrics_clean: bool | None = None) -> None:
    """Django, set up. `metrics_clean` given: prometheus-client's multiprocess mode first (it must
    be on before anything imports prometheus_client), with the previous run's counts removed
    when True."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segops_server.settings")
    if metrics_clean is not None:
        from django.conf import settings  # the settings alone: no app is loaded yet

        from segops_server.observability.multiproc import metrics_dir_prepare

        metrics_dir_prepare(Path(settings.SEGOPS_METRICS_DIR), clean=metrics_clean)
    import django

    django.setup()


def _bootstrap_owner() -> None:
    """On an empty installation, create the first owner and print how to sign in (once)."""
    from django.conf import settings

    from segops_server.accounts.models import User
    from segops_server.accounts.services import user_register

    if User.objects.exists():
        print("Sign in at http://{host}:{port}/ with your account.".format(**_bind()))
        return
    email = os.environ.get("SEGOPS_BOOTSTRAP_EMAIL", "owner@segops.local")
    password = os.environ.get("SEGOPS_BOOTSTRAP_PASSWORD") or secrets.token_urlsafe(12)
    user_register(email=email, password=password, tenant_name="Default", tenant_slug="default")
    print("=" * 72)
    print("First owner account created (shown once; change it after signing in):")
    print(f"  email:    {email}")
    print(f"  password: {password}")
    print("  tenant:   default")
    print(f"  data dir: {settings.DATA_DIR}")
    print("=" * 72)


def _bind() -> dict[str, str]:
    return {
        "host": os.environ.get("SEGOPS_HOST", "127.0.0.1"),
        "port": os.environ.get("SEGOPS_PORT", "8000"),
    }


# granian's loggers: "_granian" (the server: workers spawned, stopped, failed) and "granian.access"
# (one line per request). Both go to stdout; each access line names the worker process that answered.
ACCESS_LOG_FORMAT = "%(asctime)s worker=%(process)d %(message)s"
SERVER_LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
# Access lines quote the request line: a key or token sent in a query string is not written out.
REDACTING_FORMATTER = "segops_server.observability.logs.RedactingFormatter"


def granian_log_config(log_format: str = "plain") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict for granian's `--log-config` (it replaces granian's own
    top-level keys, so it is complete). `log_format` is SEGOPS_LOG_FORMAT: with "json", granian's
    lines are JSON objects too, through the same formatter as Django's."""
    if log_format == "json":
        formatters: dict[str, Any] = {
            "server": {"class": "segops_server.observability.logs.JsonFormatter"},
            "access": {"class": "segops_server.observability.logs.JsonFormatter"},
        }
    else:
        formatters = {
            "server": {"class": REDACTING_FORMATTER, "format": SERVER_LOG_FORMAT},
            "access": {"class": REDACTING_FORMATTER, "format": ACCESS_LOG_FORMAT},
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "handlers": {
            "server": {"class": "logging.StreamHandler", "formatter": "server", "stream": "ext://sys.stdout"},
            "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "_granian": {"handlers": ["server"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


def _write_log_config(data_dir: Path, log_format: str) -> Path:
    """granian's logging config as a JSON file in the data directory (written whole, then renamed)."""
    path = data_dir / "granian-logging.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(granian_log_config(log_format), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def cmd_run(args: argparse.Namespace) -> int:
    # Every process of this run (granian's workers, the task worker) counts into one directory,
    # emptied here: /metrics adds up this run's processes only.
    _setup_django(metrics_clean=True)
    from django.conf import settings
    from django.core.management import call_command

    from segops_server.conf.env import env_bool, env_int
    from segops_server.core.proxy import allowed_addresses, forwarded_allow_ips

    allowed_addresses(forwarded_allow_ips())  # refuse a malformed value here, not in every worker
    workers = env_int("SEGOPS_WORKERS", 2, minimum=1)
    # Four Python threads per worker process: one request's database wait (a commit, a batch's
    # COPY) overlaps others' work, a long request (a segment preview) leaves the worker able to
    # answer, and concurrent single events share a commit (SEGOPS_GROUP_COMMIT_MS, on by default
    # outside tests): with two threads a group held at most two (docs/configuration.md).
    threads = env_int("SEGOPS_THREADS", 4, minimum=1)
    access_log = env_bool("SEGOPS_ACCESS_LOG", False)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    _bootstrap_owner()
    bind = _bind()
    log_config = _write_log_config(Path(settings.DATA_DIR), settings.SEGOPS_LOG_FORMAT)
    print(f"Serving SegOps on http://{bind['host']}:{bind['port']}/ with {workers} workers", flush=True)
    argv = [
        *granian_command(),
        "--interface",
        "wsgi",
        "--host",
        bind["host"],
        "--port",
        bind["port"],
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--no-ws",
        # A worker that dies is replaced (a crash loop still stops the server), and on SIGTERM
        # workers get 30 seconds to finish their requests before they are killed.
        "--respawn-failed-workers",
        "--workers-kill-timeout",
        "30",
        "--log-config",
        str(log_config),
        "--access-log" if access_log else "--no-access-log",
        "segops_server.wsgi:application",
    ]
    # The task worker (segment computes, exports, schedules) runs beside the web server, restarted
    # when it exits; both stop when this process is told to stop or when the web server ends.
    return Supervisor(server_argv=argv, worker_argv=worker_command()).run()


def scheduler_round() -> None:
    """One round of the scheduler: fold profile deltas, queue due segment computes, expire old
    exports and membership changes, purge spent idempotency keys and quota counters, and a
    deleted tenant's events from ClickHouse."""
    from segops_server.core.idempotency import idempotency_purge
    from segops_server.core.quotas import quotas_purge
    from segops_server.core.workers import heartbeats_purge
    from segops_server.events_engine.retention import events_retention_round
    from segops_server.ingestion.services import profiles_fold_pending
    from segops_server.segments.changes.services import changes_purge
    from segops_server.segments.compute.services import segments_refresh_due
    from segops_server.segments.exports.files import exports_scratch_purge
    from segops_server.segments.exports.services import exports_expire

    profiles_fold_pending()
    segments_refresh_due()
    idempotency_purge()
    quotas_purge()
    exports_expire()
    changes_purge()
    heartbeats_purge()
    exports_scratch_purge()
    events_retention_round()  # a deleted tenant's events leave ClickHouse too


def rescue_round() -> None:
    """Queue again the work of workers that are gone: task rows still marked running, computes
    and exports whose lease expired or whose task was lost, full syncs whose batches were never
    queued, events not yet copied to the ClickHouse events engine (every few seconds, every worker)."""
    from segops_server.activations.plan import syncs_rescue
    from segops_server.core.workers import tasks_rescue
    from segops_server.events_engine.shipping import events_ship_round
    from segops_server.segments.compute.services import segments_rescue
    from segops_server.segments.exports.services import exports_rescue

    tasks_rescue()
    segments_rescue()
    exports_rescue()
    syncs_rescue()
    events_ship_round()  # the ClickHouse events engine's copy catches up (nothing on the database engine)


def _scheduler_loop() -> None:
    """Rescue stalled work every few seconds; a scheduler round every
    SEGOPS_SCHEDULER_INTERVAL_SECONDS. Both start at once, so a restarted worker picks up what
    its predecessor left."""
    from django.conf import settings
    from django.db import close_old_connections

    from segops_server.core.runner import TRANSIENT_ERRORS, Outage

    log = logging.getLogger("segops.scheduler")
    outage = Outage(log, "Scheduler")
    tick = max(1.0, min(settings.SEGOPS_SCHEDULER_INTERVAL_SECONDS, settings.SEGOPS_TASK_LEASE_SECONDS / 2))
    next_round = 0.0
    while True:
        try:
            rescue_round()
            if time.monotonic() >= next_round:
                next_round = time.monotonic() + settings.SEGOPS_SCHEDULER_INTERVAL_SECONDS
                scheduler_round()
            outage.recovered()
        except TRANSIENT_ERRORS as exc:  # the database is away: one line, then retried next tick
            outage.failed(exc)
        except Exception:  # a failed round is logged and retried next round, never fatal
            log.exception("Scheduler round failed")
        finally:
            close_old_connections()
        time.sleep(tick)


def cmd_worker(args: argparse.Namespace) -> int:
    """Work the task queue (django-tasks, database backend), run the scheduler, send webhooks and
    keep real-time segments up to date."""
    _setup_django(metrics_clean=False)  # counts beside the server's (computes), never wiping them
    from django.conf import settings

    from segops_server.core.runner import worker_main
    from segops_server.segments.exports.files import exports_scratch_purge
    from segops_server.segments.live.worker import live_loop
    from segops_server.webhooks.worker import deliveries_loop

    exports_scratch_purge()  # the temporaries of exports cut short by a crash
    return worker_main(
        parent=args.parent_pid,
        heartbeat_seconds=settings.SEGOPS_WORKER_HEARTBEAT_SECONDS,
        scheduler=_scheduler_loop,
        sender=deliveries_loop,
        live=live_loop,
    )


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segops_server.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["segops manage", *args.rest])
    return 0


def cmd_keys_scan(args: argparse.Namespace) -> int:
    """Exit 1 when any file holds a real SegOps key (pattern and checksum), else 0."""
    from segops_server.keys.scan import scan_paths

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"segops keys scan: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = 0
    for finding in scan_paths(Path(p) for p in args.paths):
        found += 1
        print(f"{finding.path}:{finding.line}: SegOps key {finding.prefix}… found")
    if found:
        print(
            f"{found} SegOps key(s) found. Revoke each one (Settings -> API Keys, or POST "
            "/api/auth/api-keys/revoke-leaked/) and create a new one.",
            file=sys.stderr,
        )
        return 1
    print("No SegOps keys found.")
    return 0


def cmd_events_backfill(args: argparse.Namespace) -> int:
    """Copy the stored events to ClickHouse, then compare each tenant's counts (events_engine/command.py)."""
    _setup_django()
    from segops_server.events_engine.command import backfill_command

    return backfill_command(batch=args.batch, out=sys.stdout, err=sys.stderr)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segops", description="Operate a SegOps installation.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate, then serve the API and console (granian)")
    run.set_defaults(func=cmd_run)
    worker = sub.add_parser("worker", help="work the background task queue and run the scheduler")
    worker.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    worker.set_defaults(func=cmd_worker)
    keys = sub.add_parser("keys", help="API key tools").add_subparsers(dest="keys_command", required=True)
    scan = keys.add_parser("scan", help="find SegOps keys in files; exits 1 if any is found")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.set_defaults(func=cmd_keys_scan)
    events = sub.add_parser("events", help="events engine tools").add_subparsers(
        dest="events_command", required=True
    )
    backfill = events.add_parser(
        "backfill", help="copy the stored events to ClickHouse, then check each tenant's count"
    )
    backfill.add_argument(
        "--batch", type=_positive, default=None, metavar="N", help="events per insert (default 100000)"
    )
    backfill.set_defaults(func=cmd_events_backfill)
    manage = sub.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
