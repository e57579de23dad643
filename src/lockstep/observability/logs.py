"""Log lines that carry the request and operation they belong to, as text or JSON, with secrets scrubbed.

Every record passes the root handler's filter, which stamps it with the request id the API returned
(`X-Openstack-Request-Id`) and, in the worker, the operation id: third-party loggers' lines
(SQLAlchemy, keystonemiddleware) get them too, since the ids are ambient context variables.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from typing import Any

import orjson

from lockstep.service.context import current_operation_id, current_request_id

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(operation_id)s] %(message)s"

# Credentials that may reach a message: a password in a URL, a token header, `password=` pairs.
_SECRETS = (
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)(x-auth-token|x-subject-token|x-service-token|authorization)(['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
     r"\1\2***"),
    (re.compile(r"(?i)(password|passwd|secret|token)(['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}&]+"), r"\1\2***"),
)


def scrub(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    """Stamps each record with its request and operation ids and scrubs credentials from its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        operation = current_operation_id()
        record.operation_id = f"op-{operation}" if operation is not None else "-"
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: logging reports it itself
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the access log's fields (method, route, status, duration_ms) as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "operation_id": getattr(record, "operation_id", "-"),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


class TextFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return scrub(super().formatException(ei))


def configure(level: str, fmt: str = "text") -> None:
    """The root logger's one handler (stderr, which systemd's journal collects)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
