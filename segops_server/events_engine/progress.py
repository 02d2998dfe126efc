"""A progress line for a long copy: done of total, percent, rate and time left, on a stream."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

# On a terminal the line is rewritten in place at most this often (a batch can take milliseconds);
# elsewhere (a log file, a CI job) a new line is written at every STEP_PERCENT.
REDRAW_SECONDS = 0.25
STEP_PERCENT = 5


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class Progress:
    """Reports `done` out of `total` events: on a terminal one line rewritten with `\\r`, at most a
    few times a second; otherwise one line per 5 %, so a log keeps about twenty of them."""

    def __init__(self, total: int, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.tty = stream.isatty()
        self._drawn_at: float | None = None
        self._drawn_width = 0
        self._step = -1

    def line(self, done: int) -> str:
        percent = 100.0 if self.total <= 0 else min(100.0, 100.0 * done / self.total)
        elapsed = self.clock() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = max(0, self.total - done)
        eta = _duration(left / rate) if rate > 0 else ("0:00:00" if left == 0 else "?")
        return f"copied {done:,} of {self.total:,} events ({percent:.1f} %), {rate:,.0f} events/s, ETA {eta}"

    def update(self, done: int) -> None:
        """Show `done` if enough time (terminal) or progress (otherwise) passed since the last line."""
        if self.tty:
            now = self.clock()
            if self._drawn_at is not None and now - self._drawn_at < REDRAW_SECONDS:
                return
            self._drawn_at = now
            self._draw(done, end="")
        else:
            step = self._step_of(done)
            if step > self._step:
                self._step = step
                self._draw(done, end="\n")

    def finish(self, done: int) -> None:
        """The last line, always shown (unless a log already has it), ending the terminal line."""
        if self.tty:
            self._draw(done, end="\n")
        elif self._step_of(done) > self._step or done < self.total:
            self._step = self._step_of(done)
            self._draw(done, end="\n")

    def _step_of(self, done: int) -> int:
        if self.total <= 0:
            return 100 // STEP_PERCENT
        return min(100, 100 * done // self.total) // STEP_PERCENT

    def _draw(self, done: int, *, end: str) -> None:
        text = self.line(done)
        if self.tty:
            # Spaces over what is left of a longer previous line.
            text = "\r" + text.ljust(self._drawn_width)
            self._drawn_width = len(text) - 1
        self.stream.write(text + end)
        self.stream.flush()
