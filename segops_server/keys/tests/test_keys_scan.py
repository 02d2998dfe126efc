"""`segops keys scan PATH...`: finds real SegOps keys in files offline, printing only their prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from segops_server.cli import main
from segops_server.keys.format import key_generate


def _scan(capsys: pytest.CaptureFixture[str], *paths: Path | str) -> tuple[int, str]:
    code = main(["keys", "scan", *(str(p) for p in paths)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _checksum_broken(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def test_it_reports_a_real_key_by_path_line_and_prefix_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = key_generate(kind="sk", environment="live")
    leaked = tmp_path / "settings.py"
    leaked.write_text(f"DEBUG = True\n\nSEGOPS_KEY = '{key}'\n")
    code, output = _scan(capsys, leaked)
    assert code == 1
    assert f"{leaked}:3: SegOps key {key[:12]}… found" in output
    assert key not in output
    assert key[12:] not in output


def test_it_finds_every_kind_of_key_and_every_occurrence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [key_generate(kind=k, environment=e) for k, e in [("sk", "test"), ("pk", "live"), ("pk", "test")]]
    (tmp_path / "app.env").write_text(f"A={keys[0]} B={keys[1]}\nC={keys[2]}\n")
    code, output = _scan(capsys, tmp_path / "app.env")
    assert code == 1
    assert output.count("SegOps key ") == 3
    assert f"app.env:1: SegOps key {keys[0][:12]}…" in output
    assert f"app.env:1: SegOps key {keys[1][:12]}…" in output
    assert f"app.env:2: SegOps key {keys[2][:12]}…" in output
    assert not any(key in output for key in keys)


def test_it_ignores_a_key_shaped_string_with_a_wrong_checksum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _checksum_broken(key_generate(kind="sk", environment="live"))
    (tmp_path / "README.md").write_text(f"Example: `Authorization: ApiKey {fake}`\nsk_live_xxxxxxxx\n")
    code, output = _scan(capsys, tmp_path)
    assert code == 0
    assert "No SegOps keys found." in output


def test_it_recurses_into_directories_but_skips_git_and_dependencies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, in_git, in_modules = (key_generate(kind="sk", environment="live") for _ in range(3))
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "src" / "deep" / "config.yml").write_text(f"key: {found}\n")
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / ".git" / "objects" / "packed").write_text(in_git)
    (tmp_path / "node_modules" / "lib").mkdir(parents=True)
    (tmp_path / "node_modules" / "lib" / "index.js").write_text(in_modules)
    code, output = _scan(capsys, tmp_path)
    assert code == 1
    assert f"config.yml:1: SegOps key {found[:12]}…" in output
    assert in_git[:12] not in output
    assert in_modules[:12] not in output
    assert output.count("SegOps key ") == 1


def test_it_exits_0_for_clean_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "clean.txt").write_text("nothing to see\n")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    assert _scan(capsys, tmp_path) == (0, "No SegOps keys found.\n")


def test_it_exits_2_for_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = key_generate(kind="sk", environment="live")
    (tmp_path / "real.txt").write_text(key)
    code, output = _scan(capsys, tmp_path / "real.txt", tmp_path / "missing.txt")
    assert code == 2
    assert "missing.txt" in output
    assert key not in output


def test_it_needs_at_least_one_path(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["keys", "scan"])
    assert exit_info.value.code == 2
