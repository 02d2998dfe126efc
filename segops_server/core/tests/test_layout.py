"""Gates on the shape of the code: small modules, and mypy in strict mode over segops_server."""

from __future__ import annotations

import tomllib
from pathlib import Path

import segops_server

PACKAGE = Path(segops_server.__file__).parent
MAX_MODULE_LINES = 400


def _modules() -> list[Path]:
    return sorted(
        path for path in PACKAGE.rglob("*.py") if "tests" not in path.parts and "migrations" not in path.parts
    )


def test_it_keeps_every_module_within_400_lines() -> None:
    lines = {str(path.relative_to(PACKAGE)): len(path.read_text().splitlines()) for path in _modules()}
    assert lines  # the walk found the package
    assert {name: count for name, count in lines.items() if count > MAX_MODULE_LINES} == {}


def test_it_type_checks_the_package_in_strict_mode() -> None:
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
    # Nothing strict turns on is turned off again, and only tests, migrations and benchmarks
    # are left out.
    assert not [flag for flag, value in config.items() if value is False]
    assert sorted(config["exclude"]) == ["bench/", "migrations/", "tests/"]
    assert "overrides" not in config
