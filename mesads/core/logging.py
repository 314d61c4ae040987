"""JSON lines for production logs: one object per record, the extra fields included;
secrets masked in every record (RedactSecretsFilter)."""

import json
import logging
from datetime import UTC, datetime

from .redaction import redact

# Attributes every LogRecord has; anything else was passed through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            # Pre-formatted (and redacted) by RedactSecretsFilter when it ran.
            data["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class RedactSecretsFilter(logging.Filter):
    """Mask secrets (mesads.core.redaction) in a record before any handler writes it: its
    message, its extra fields (the request log's ``path``; the ``request`` object that
    ``django.request`` attaches, whose text holds the query string) and its traceback.

    On the console handler (settings.LOGGING) and on gunicorn's own logs
    (mesads.core.gunicorn_logging): every line that leaves the process goes through it.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (the handler reports a malformed record itself)
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        for key, value in list(vars(record).items()):
            if key in _STANDARD or key.startswith("_") or value is None:
                continue
            if isinstance(value, bool | int | float | list | tuple | dict):
                continue
            if isinstance(value, str):
                setattr(record, key, redact(value))
            else:
                # An object (an HttpRequest, a socket): written as its text, masked.
                setattr(record, key, redact(str(value)))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
