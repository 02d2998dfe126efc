"""core/memo.py: a memory that never holds more than its limit."""

from segops_server.core.memo import memo_put


def test_it_keeps_at_most_the_limit_and_returns_the_value() -> None:
    memory: dict[int, str] = {}
    for n in range(10):
        assert memo_put(memory, n, f"v{n}", 4) == f"v{n}"
        assert len(memory) <= 4
        assert memory[n] == f"v{n}"
    assert memory == {8: "v8", 9: "v9"}  # emptied when the ninth came, at four entries
