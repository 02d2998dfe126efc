"""Typed readers for settings that come from the environment; each fails loudly on bad input."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


_RATE = re.compile(r"^([1-9][0-9]*)/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    """A request rate in DRF's notation: `<count>/<second|minute|hour|day>` (e.g. `20/hour`)."""
    value = os.environ.get(name, default).strip()
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must look like 20/hour (a count per second, minute, hour or day), got {value!r}"
        )
    return value


_WEAK_MARKERS = ("insecure", "change-me", "changeme", "secret", "example")


def env_secret(name: str, *, data_dir: Path, production: bool, min_length: int = 32) -> str:
    """A secret from the environment, or (outside production) one generated once into data_dir.

    Production refuses to start without a real value: a missing, short or placeholder-looking
    secret would let anyone forge sessions and tokens.
    """
    value = os.environ.get(name, "")
    if value:
        if production and (len(value) < min_length or any(m in value.lower() for m in _WEAK_MARKERS)):
            raise ImproperlyConfigured(
                f"{name} is too weak for production: use at least {min_length} random "
                "characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        return value
    if production:
        raise ImproperlyConfigured(f"{name} must be set when SEGOPS_ENV=production.")
    return _generated_secret(data_dir / f".{name.lower()}")


def _generated_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a private temporary file, then linked into place: when several workers start
    # at once, exactly one link succeeds and every worker reads that one complete value.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


_DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_durations(
    name: str, default: str, *, first_at_most: int | None = None, total_at_least: int | None = None
) -> tuple[int, ...]:
    """A comma list of durations (`5s,30s,2m,1h,1d`) as seconds, at least one. `first_at_most`
    and `total_at_least` (seconds) bound the first entry and the sum."""
    raw = os.environ.get(name, default)
    seconds: list[int] = []
    for item in raw.split(","):
        match = _DURATION.match(item.strip().lower())
        if match is None:
            raise ImproperlyConfigured(
                f"{name} must be a comma list of durations such as 5s,30s,2m,1h "
                f"(a whole number and s, m, h or d), got {item.strip()!r} in {raw!r}"
            )
        seconds.append(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if first_at_most is not None and seconds[0] > first_at_most:
        raise ImproperlyConfigured(
            f"{name}: the first entry must be at most {first_at_most} s, got {seconds[0]} s in {raw!r}"
        )
    if total_at_least is not None and sum(seconds) < total_at_least:
        raise ImproperlyConfigured(
            f"{name} must add up to at least {total_at_least} s, got {sum(seconds)} s in {raw!r}"
        )
    return tuple(seconds)
