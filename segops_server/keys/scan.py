"""Finds SegOps keys in files offline: the key pattern, confirmed by its checksum."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from segops_server.keys.format import KEY_PATTERN, key_display_prefix, key_is_well_formed

SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache"}
MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    prefix: str  # the display prefix only: a scanner report must not become a new leak


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not SKIPPED_DIRS.intersection(child.relative_to(path).parts):
                    yield child
        elif path.is_file():
            yield path


def scan_text(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        for match in KEY_PATTERN.finditer(line):
            if key_is_well_formed(match.group(0)):
                yield number, key_display_prefix(match.group(0))


def scan_paths(paths: Iterable[Path]) -> Iterator[Finding]:
    for file in _files(paths):
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                continue
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line, prefix in scan_text(text):
            yield Finding(path=file, line=line, prefix=prefix)
