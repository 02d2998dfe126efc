"""Logs as one JSON object per line (SEGOPS_LOG_FORMAT=json), with request id and tenant, no secret.

A small formatter rather than python-json-logger: the fields are few and fixed (time, level,
logger, message, process, request_id, tenant_id, exc_info), and nothing else of the record is
copied out, so a request object, its headers or its body handed to a log call as an argument
never reaches the output. What is written is also passed through `redact`, which replaces
anything shaped like a SegOps key, a JWT, an Authorization value or a password field: a secret
that a message or a traceback happens to quote is not written out (plain logs included).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from segops_server.observability.context import current

REDACTED = "[redacted]"
_SECRETS = (
    # SegOps keys (keys/format.py), truncated ones included.
    (re.compile(r"\b(?:sk|pk)_(?:live|test)_[0-9A-Za-z]{4,}"), REDACTED),
    # JWTs: base64url header and payload starting with '{"'.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"), REDACTED),
    # An Authorization header's value: "Bearer …", "ApiKey …", "Basic …".
    (re.compile(r"(?i)\b(bearer|apikey|basic)(\s+)[^\s'\",;]+"), rf"\1\2{REDACTED}"),
    # password=…, "password": "…", new_password, current_password, hmac_secret, …
    (
        re.compile(
            r"(?i)([\"']?\w*(?:password|secret|token)\w*[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,&}]+)"
        ),
        rf"\1{REDACTED}",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """The plain format, with `redact` applied to the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "process": record.process,
        }
        ctx = current()
        if ctx is not None:
            entry["request_id"] = ctx.request_id
            if ctx.tenant_id is not None:
                entry["tenant_id"] = ctx.tenant_id
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
