"""The rule language's regular expressions: RE2 semantics, checked at definition time.

`matches_regex` patterns come from any Viewer or `segments:read` key, so the engine must not
backtrack: RE2 (google-re2) runs in time linear in the text, whatever the pattern. SQLite's
REGEXP and the reference evaluator both call `regex_search`; on PostgreSQL the database's own
engine runs the same pattern under `statement_timeout` (docs/segments.md, "Regular
expressions"), which is why patterns are also held to a subset both engines read alike.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

# RE2 compiles a pattern into an automaton of bounded size (a 1,000-character pattern can ask
# for `(a{1000}){1000}`): past this many bytes it refuses, and the rule is refused with it.
MAX_PROGRAM_BYTES = 8 << 20

# Escapes both engines read alike. Left out on purpose: \b and \B (a word boundary in RE2, a
# backspace and a backslash in PostgreSQL), \A \z \Z, \p{..} \Q..\E \C (RE2 or Python only),
# back-references \1.. (no linear-time engine has them).
_SAFE_ESCAPES = frozenset("dDsSwWntrfv") | frozenset(r".^$|?*+()[]{}\/-")


# PostgreSQL's largest repetition count (RE2 allows 1,000).
MAX_REPEAT = 255
_REPEAT_RE = re.compile(r"\{([0-9]+)(?:,([0-9]*))?\}")


class RegexError(ValueError):
    """A pattern outside the supported subset; the message says why, for the definition's error."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the user's mistake: no line in the server log
    options.max_mem = MAX_PROGRAM_BYTES
    # `.` matches a newline, as in PostgreSQL (whose default is not newline-sensitive).
    options.dot_nl = True
    return options


_OPTIONS = _options()


@lru_cache(maxsize=256)
def regex_compile(pattern: str) -> Any:
    """The compiled pattern; RegexError naming what is not supported."""
    _check_subset(pattern)
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RegexError(f"not a valid regular expression ({reason})") from None


def regex_search(pattern: str, text: str) -> bool:
    """Is the pattern found anywhere in the text (a search, not a full match)?"""
    return regex_compile(pattern).search(text) is not None


def sqlite_regexp(pattern: str | None, text: Any) -> bool | None:
    """SQLite's `text REGEXP pattern` (called as regexp(pattern, text)); NULL in, NULL out."""
    if pattern is None or text is None:
        return None
    return regex_search(pattern, str(text))


def _check_subset(pattern: str) -> None:
    """Refuse the constructs RE2 and PostgreSQL read differently, or only one of them has."""
    index, after_anchor = 0, False
    while index < len(pattern):
        char = pattern[index]
        if after_anchor and char in "*+?{":
            raise RegexError("nothing to repeat after ^ or $")
        after_anchor = char in "^$"
        if char == "\\":
            _check_escape(pattern[index + 1 : index + 2])
            index += 2
        elif char == "[":
            index = _class_end(pattern, index)
        elif char == "{":
            index = _repeat_end(pattern, index)
        elif char == "(" and pattern.startswith("(?", index):
            index = _group_start_end(pattern, index)
        else:
            index += 1


def _check_escape(escaped: str) -> None:
    if escaped.isdigit() and escaped != "0":
        raise RegexError("back-references (\\1) are not supported: they have no linear-time engine")
    if escaped not in _SAFE_ESCAPES:
        raise RegexError(
            f"the escape \\{escaped} is not supported "
            "(use \\d \\s \\w and their capitals, \\n \\t \\r, or escape punctuation)"
        )


def _class_end(pattern: str, index: int) -> int:
    """Past the `]` closing the bracket expression opening at `index`."""
    index += 1
    # A `]` (after an optional `^`) right after the `[` is a literal, in both engines.
    if pattern.startswith("^", index):
        index += 1
    if pattern.startswith("]", index):
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        if pattern.startswith("[:", index) and (end := pattern.find(":]", index + 2)) >= 0:
            index = end + 2
        elif pattern[index] == "\\":
            _check_escape(pattern[index + 1 : index + 2])
            index += 2
        else:
            index += 1
    return index + 1


def _repeat_end(pattern: str, index: int) -> int:
    count = _REPEAT_RE.match(pattern, index)
    if count is None:
        # RE2 reads a stray `{` as a literal, PostgreSQL as a broken repetition.
        raise RegexError("a literal { must be escaped as \\{")
    if any(int(n) > MAX_REPEAT for n in count.groups() if n):
        raise RegexError(f"a repetition count may be at most {MAX_REPEAT}")
    return count.end()


def _group_start_end(pattern: str, index: int) -> int:
    if pattern.startswith("(?:", index):
        return index + 3
    if index == 0 and pattern.startswith("(?i)"):
        return 4
    if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), index):
        raise RegexError("lookahead and lookbehind are not supported: they have no linear-time engine")
    raise RegexError("groups may be (…) or (?:…), and (?i) may open the pattern; no other (? form")
