"""Structured logs: one JSON object per line on stderr (``ts``, ``level``, ``msg``, then
fields), with the request id on every request line. No raw user ids are ever logged: request
bodies are not logged, and a bearer token's subject appears only as a salted hash prefix
(``subject_hash``), enough to correlate lines of one caller but not to recover the id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

LOGGER = "recsys_service"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, separators=(",", ":"), default=str)


def logger() -> logging.Logger:
    """The service logger, with a JSON handler on stderr (installed once)."""
    log = logging.getLogger(LOGGER)
    if not any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def event(level: int, msg: str, **fields: Any) -> None:
    logger().log(level, msg, extra={"fields": {k: v for k, v in fields.items() if v is not None}})


def subject_hash(salt: str, subject: str) -> str:
    """A short, salted, one-way tag of a subject for correlating log lines."""
    return hashlib.sha256((salt + "\x00" + subject).encode()).hexdigest()[:16]
