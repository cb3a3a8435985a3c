"""Log formatters that carry the context fields (`mailing_id`, `message_id`, `client_id`, ...).

Pass them with `extra={...}`. Text lines end in `key=value` pairs, so
`grep mailing_id=42` finds a mailing's whole story; `LOG_FORMAT=json` gives one
JSON object per line with the same fields.
"""

import json
import logging
from datetime import UTC, datetime

CONTEXT_FIELDS = (
    "mailing_id",
    "message_id",
    "client_id",
    "batch",
    "provider",
    "status",
    "outcome",
    "duration_ms",
    "attempt",
    "count",
    "fields",
    "error",
)


def _context(record: logging.LogRecord) -> dict:
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if getattr(record, name, None) is not None}


def _quote(value) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or '"' in text or not text) else text


class KeyValueFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context(record)
        if context:
            line += " " + " ".join(f"{key}={_quote(value)}" for key, value in context.items())
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
