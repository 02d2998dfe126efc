"""The progress line: rewritten in place a few times a second on a terminal, a line per 5 % elsewhere."""

from __future__ import annotations

import io

from segops_server.events_engine.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_it_rewrites_one_line_at_most_four_times_a_second_on_a_terminal() -> None:
    stream, clock = Terminal(), Clock()
    progress = Progress(1000, stream, clock=clock)
    for done in range(0, 1000, 10):  # a hundred updates within two seconds
        clock.now += 0.02
        progress.update(done)
    progress.finish(1000)
    text = stream.getvalue()
    assert 5 <= text.count("\r") <= 10
    assert "\n" not in text[:-1]
    assert text.endswith("\n")
    last = text.split("\r")[-1]
    assert last.startswith("copied 1,000 of 1,000 events (100.0 %), 500 events/s, ETA 0:00:00")


def test_it_shows_the_rate_and_the_time_left() -> None:
    clock = Clock()
    progress = Progress(1_000_000, io.StringIO(), clock=clock)
    clock.now += 10
    expected = "copied 250,000 of 1,000,000 events (25.0 %), 25,000 events/s, ETA 0:00:30"
    assert progress.line(250_000) == expected
    clock.now += 3600
    assert progress.line(250_000).endswith("69 events/s, ETA 3:00:30")
    assert Progress(5, io.StringIO(), clock=Clock()).line(0).endswith("0 events/s, ETA ?")


def test_it_writes_a_line_per_five_percent_elsewhere() -> None:
    stream = io.StringIO()
    progress = Progress(1000, stream, clock=Clock())
    for done in range(1, 1001):
        progress.update(done)
    progress.finish(1000)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 21  # 0 %, 5 %, ..., 100 %, the last not repeated by finish
    assert [line.split("(")[1].split(" %")[0] for line in lines[:3]] == ["0.1", "5.0", "10.0"]


def test_it_says_when_there_is_nothing_to_copy() -> None:
    stream = io.StringIO()
    Progress(0, stream, clock=Clock()).finish(0)
    assert stream.getvalue().startswith("copied 0 of 0 events (100.0 %)")


def test_it_shows_where_it_stopped() -> None:
    stream = io.StringIO()
    progress = Progress(100, stream, clock=Clock())
    progress.update(50)
    progress.finish(52)
    assert stream.getvalue().splitlines()[-1].startswith("copied 52 of 100 events (52.0 %)")
