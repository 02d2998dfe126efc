"""The `segops` operator command: arguments, the first-owner bootstrap, and `run`."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured

from segops_server import cli
from segops_server.accounts.models import Membership, Role, Tenant, User


@pytest.fixture(autouse=True)
def _bootstrap_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SEGOPS_BOOTSTRAP_EMAIL", "SEGOPS_BOOTSTRAP_PASSWORD", "SEGOPS_HOST", "SEGOPS_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SEGOPS_WORKERS", "SEGOPS_THREADS", "SEGOPS_ACCESS_LOG", "SEGOPS_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)


def test_it_parses_run() -> None:
    args = cli.build_parser().parse_args(["run"])
    assert args.command == "run"
    assert args.func is cli.cmd_run


def test_it_passes_everything_after_manage_through() -> None:
    args = cli.build_parser().parse_args(["manage", "migrate", "--plan", "accounts"])
    assert args.func is cli.cmd_manage
    assert args.rest == ["migrate", "--plan", "accounts"]


@pytest.mark.parametrize("argv", [[], ["serve"], ["run", "--bogus"]])
def test_it_refuses_a_missing_or_unknown_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "usage: segops" in capsys.readouterr().err


def test_it_runs_a_django_management_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manage", "version"]) == 0
    assert capsys.readouterr().out.startswith("5.2")


def _credentials(output: str) -> tuple[str, str]:
    email = re.search(r"email:\s+(\S+)", output)
    password = re.search(r"password:\s+(\S+)", output)
    assert email is not None
    assert password is not None
    return email.group(1), password.group(1)


def test_it_creates_the_first_owner_once_and_prints_the_credentials(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cli._bootstrap_owner()
    email, password = _credentials(capsys.readouterr().out)
    assert email == "owner@segops.local"
    user = User.objects.get()
    assert user.email == email
    assert user.check_password(password)
    assert len(password) >= 16
    tenant = Tenant.objects.get()
    assert tenant.slug == "default"
    assert Membership.objects.for_tenant(tenant).get().role == Role.OWNER

    cli._bootstrap_owner()
    again = capsys.readouterr().out
    assert "password" not in again
    assert "Sign in at http://127.0.0.1:8000/" in again
    assert User.objects.count() == 1
    assert Tenant.objects.count() == 1


def test_it_generates_a_new_password_for_each_installation(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cli._bootstrap_owner()
    _email, first = _credentials(capsys.readouterr().out)
    User.objects.all().delete()
    Tenant.objects.all().delete()
    cli._bootstrap_owner()
    _email, second = _credentials(capsys.readouterr().out)
    assert first != second


def test_it_takes_the_first_owner_from_the_environment(
    db: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEGOPS_BOOTSTRAP_EMAIL", "Ops@Initech.test")
    monkeypatch.setenv("SEGOPS_BOOTSTRAP_PASSWORD", "a-long-operator-passphrase")
    cli._bootstrap_owner()
    assert "Ops@Initech.test" in capsys.readouterr().out
    assert User.objects.get().check_password("a-long-operator-passphrase")
    assert User.objects.get().email == "ops@initech.test"


def test_it_does_not_bootstrap_when_people_exist(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    User.objects.create_user(email="someone@initech.test", password="whatever-it-is-123")
    cli._bootstrap_owner()
    assert "Sign in at" in capsys.readouterr().out
    assert not Tenant.objects.exists()


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _run_argv() -> list[str]:
    """The server command `segops run` supervises (nothing migrated, started or supervised)."""
    with (
        mock.patch("django.core.management.call_command"),
        mock.patch("segops_server.cli.Supervisor") as supervisor,
    ):
        cli.main(["run"])
    return list(supervisor.call_args.kwargs["server_argv"])


def test_it_migrates_bootstraps_and_supervises_granian_and_the_worker(
    db: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEGOPS_PORT", "8123")
    monkeypatch.setenv("PATH", "/nonexistent")  # granian is found through the interpreter, not PATH
    with (
        mock.patch("django.core.management.call_command") as call_command,
        mock.patch("segops_server.cli.Supervisor") as supervisor,
    ):
        supervisor.return_value.run.return_value = 0
        assert cli.main(["run"]) == 0
    commands = [c.args[0] for c in call_command.call_args_list]
    assert commands == ["migrate", "collectstatic"]
    worker = supervisor.call_args.kwargs["worker_argv"]
    assert worker[0] == sys.executable
    assert worker[1:5] == ["-m", "segops_server.cli", "worker", "--parent-pid"]
    assert worker[5] == str(os.getpid())
    argv = supervisor.call_args.kwargs["server_argv"]
    assert argv[:3] == [sys.executable, "-m", "granian"]
    assert argv[-1] == "segops_server.wsgi:application"
    assert _option(argv, "--interface") == "wsgi"
    assert _option(argv, "--host") == "127.0.0.1"
    assert _option(argv, "--port") == "8123"
    assert _option(argv, "--workers") == "2"
    assert _option(argv, "--blocking-threads") == "4"
    assert "--no-ws" in argv
    assert "--respawn-failed-workers" in argv
    assert "--no-access-log" in argv  # off unless SEGOPS_ACCESS_LOG=1 (a proxy usually logs requests)
    assert "--access-log" not in argv
    output = capsys.readouterr().out
    assert "owner@segops.local" in output
    assert "Serving SegOps on http://127.0.0.1:8123/ with 2 workers" in output
    assert User.objects.filter(email="owner@segops.local").exists()


def test_it_gives_granian_a_logging_config_with_the_worker_in_each_access_line(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    argv = _run_argv()
    path = Path(_option(argv, "--log-config"))
    assert path.parent == tmp_path / "data"
    config = json.loads(path.read_text())
    assert config == cli.granian_log_config()
    loggers = config["loggers"]
    assert set(loggers) == {"_granian", "granian.access"}
    for name in loggers:
        handler = config["handlers"][loggers[name]["handlers"][0]]
        assert handler["stream"] == "ext://sys.stdout"
        assert loggers[name]["propagate"] is False
    access = config["formatters"][config["handlers"]["access"]["formatter"]]
    assert access["format"] == "%(asctime)s worker=%(process)d %(message)s"
    record = logging.LogRecord("granian.access", logging.INFO, __file__, 1, '"GET / HTTP/1.1" 200', (), None)
    assert f'worker={os.getpid()} "GET / HTTP/1.1" 200' in logging.Formatter(access["format"]).format(record)


def test_it_honours_the_worker_count_and_bind_address(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGOPS_WORKERS", "5")
    monkeypatch.setenv("SEGOPS_THREADS", "3")
    monkeypatch.setenv("SEGOPS_HOST", "0.0.0.0")
    argv = _run_argv()
    assert _option(argv, "--workers") == "5"
    assert _option(argv, "--blocking-threads") == "3"
    assert _option(argv, "--host") == "0.0.0.0"
    assert _option(argv, "--port") == "8000"


@pytest.mark.parametrize(
    ("raw", "flag"), [("0", "--no-access-log"), ("off", "--no-access-log"), (" Yes ", "--access-log")]
)
def test_it_turns_the_access_log_off_and_on(
    db: None, monkeypatch: pytest.MonkeyPatch, raw: str, flag: str
) -> None:
    monkeypatch.setenv("SEGOPS_ACCESS_LOG", raw)
    argv = _run_argv()
    assert flag in argv
    assert ({"--access-log", "--no-access-log"} & set(argv)) == {flag}


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("SEGOPS_ACCESS_LOG", "sometimes"),
        ("SEGOPS_WORKERS", "0"),
        ("SEGOPS_THREADS", "many"),
        ("SEGOPS_FORWARDED_ALLOW_IPS", "127.0.0.1,proxy.internal"),
    ],
)
def test_it_refuses_a_bad_server_setting_before_starting(
    db: None, monkeypatch: pytest.MonkeyPatch, name: str, raw: str
) -> None:
    monkeypatch.setenv(name, raw)
    with (
        mock.patch("django.core.management.call_command") as call_command,
        mock.patch("segops_server.cli.Supervisor") as supervisor,
        pytest.raises(ImproperlyConfigured, match=name),
    ):
        cli.main(["run"])
    call_command.assert_not_called()
    supervisor.assert_not_called()
