"""Typed settings readers: good values parse, bad ones stop the server with ImproperlyConfigured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from segops_server.conf.env import env_bool, env_choice, env_int, env_list, env_secret, env_str

NAME = "SEGOPS_TEST_SETTING"
STRONG = "k3Jd9-xQ2vLr8TzW1pYh6NcB4mFsA7eU0gKo5iRq"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)


def test_it_reads_a_string_or_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_str(NAME, "fallback") == "fallback"
    monkeypatch.setenv(NAME, "value")
    assert env_str(NAME, "fallback") == "value"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        (" YES ", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("off", False),
    ],
)
def test_it_reads_booleans(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv(NAME, raw)
    assert env_bool(NAME, not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_it_uses_the_boolean_default_when_unset(default: bool) -> None:
    assert env_bool(NAME, default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "y e s", "tru", "enabled"])
def test_it_refuses_a_bad_boolean(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_bool(NAME, True)


@pytest.mark.parametrize(("raw", "expected"), [("42", 42), (" 7 ", 7), ("-3", -3), ("", 5), ("  ", 5)])
def test_it_reads_integers(monkeypatch: pytest.MonkeyPatch, raw: str, expected: int) -> None:
    monkeypatch.setenv(NAME, raw)
    assert env_int(NAME, 5) == expected


def test_it_uses_the_integer_default_when_unset() -> None:
    assert env_int(NAME, 5, minimum=1) == 5


@pytest.mark.parametrize("raw", ["abc", "1.5", "10k", "0x10", "1e3"])
def test_it_refuses_a_bad_integer(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_int(NAME, 5)


def test_it_refuses_an_integer_below_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int(NAME, 5, minimum=1)
    monkeypatch.setenv(NAME, "1")
    assert env_int(NAME, 5, minimum=1) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a,b", ["a", "b"]), (" a , b ,, c ", ["a", "b", "c"]), ("", []), ("one", ["one"])],
)
def test_it_reads_comma_separated_lists(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv(NAME, raw)
    assert env_list(NAME, ["default"]) == expected


def test_it_uses_the_list_default_when_unset() -> None:
    assert env_list(NAME, ["localhost"]) == ["localhost"]


@pytest.mark.parametrize(("raw", "expected"), [("local", "local"), (" Production ", "production")])
def test_it_reads_a_choice(monkeypatch: pytest.MonkeyPatch, raw: str, expected: str) -> None:
    monkeypatch.setenv(NAME, raw)
    assert env_choice(NAME, "local", ("local", "production")) == expected


@pytest.mark.parametrize("raw", ["staging", "", "prod"])
def test_it_refuses_a_value_outside_the_choices(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match="local, production"):
        env_choice(NAME, "local", ("local", "production"))


def test_it_refuses_a_bad_choice_default() -> None:
    with pytest.raises(ImproperlyConfigured):
        env_choice(NAME, "staging", ("local", "production"))


def test_it_refuses_a_missing_secret_in_production(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="must be set"):
        env_secret(NAME, data_dir=tmp_path, production=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "weak",
    [
        "short",
        "x" * 31,
        "django-insecure-" + "a" * 40,
        "please-change-me-" + "a" * 40,
        "CHANGEME" + "a" * 40,
        "my-secret-" + "a" * 40,
        "example-" + "a" * 40,
    ],
)
def test_it_refuses_a_weak_secret_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, weak: str
) -> None:
    monkeypatch.setenv(NAME, weak)
    with pytest.raises(ImproperlyConfigured, match="too weak"):
        env_secret(NAME, data_dir=tmp_path, production=True)


def test_it_accepts_a_strong_secret_in_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(NAME, STRONG)
    assert env_secret(NAME, data_dir=tmp_path, production=True) == STRONG


def test_it_takes_any_given_secret_outside_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(NAME, "dev")
    assert env_secret(NAME, data_dir=tmp_path, production=False) == "dev"
    assert list(tmp_path.iterdir()) == []


def test_it_generates_a_private_secret_file_once_and_reuses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = env_secret(NAME, data_dir=data_dir, production=False)
    second = env_secret(NAME, data_dir=data_dir, production=False)
    assert first == second
    assert len(first) >= 48
    path = data_dir / f".{NAME.lower()}"
    assert path.read_text().strip() == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in data_dir.iterdir()] == [path.name]  # no temporary file left behind


def test_it_generates_different_secrets_in_different_data_dirs(tmp_path: Path) -> None:
    one = env_secret(NAME, data_dir=tmp_path / "one", production=False)
    two = env_secret(NAME, data_dir=tmp_path / "two", production=False)
    assert one != two


def test_it_keeps_the_secret_another_process_wrote_first(tmp_path: Path) -> None:
    # Two workers racing: the one that loses the link reads the winner's value.
    path = tmp_path / f".{NAME.lower()}"
    real_link = os.link

    def link_after_a_rival(src: str, dst: str) -> None:
        Path(dst).write_text("the-rivals-secret\n")
        real_link(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "link", link_after_a_rival)
        value = env_secret(NAME, data_dir=tmp_path, production=False)
    assert value == "the-rivals-secret"
    assert path.read_text().strip() == "the-rivals-secret"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
