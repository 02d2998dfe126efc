"""URL converters: object ids that fit a database bigint, so a huge id is a 404, never a 500."""

from __future__ import annotations

MAX_ID_DIGITS = 18  # every 18-digit number fits a signed 64-bit integer


class IdConverter:
    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
