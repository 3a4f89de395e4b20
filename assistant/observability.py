"""Logging for operators: one JSON object per line, each carrying the id of the request it belongs to, and no
personal data (messages are passed through the PII masker before they are written, as a last line of defence
behind the rule that code never logs what a user typed).

The web layer sets `request_id_var` per request; worker threads inherit it (anyio copies the context).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote

from moderation.pii import find_pii, mask_pii

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id"?, "exc"?}` per record, with PII masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class ScrubbingFormatter(logging.Formatter):
    """The plain one-line format for a terminal, with PII masked as in the JSON logs."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


# A word holding %XX escapes: a URL path or query as an access log or a traceback prints it (`mia%40example.com`).
_PERCENT_ENCODED = re.compile(r"[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")


def scrub(text: str) -> str:
    if not text:
        return text
    return _PERCENT_ENCODED.sub(_scrub_encoded, mask_pii(text)[0])


def _scrub_encoded(match: re.Match[str]) -> str:
    decoded = unquote(match.group(0))
    return mask_pii(decoded)[0] if find_pii(decoded) else match.group(0)


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("uncaught").critical("uncaught %s", exc_type.__name__, exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _route_tracebacks_through_logging() -> None:
    """Python prints the traceback of an exception nobody caught, and warnings, straight to stderr, past the
    scrubbing formatters: send them to the logs instead."""
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    logging.captureWarnings(True)


def configure_logging(level: int, *, json_format: bool = False, log_file: Path | None = None) -> None:
    """Sends the process's logs to stderr, or to LOG_FILE (appended), as JSON lines or plain text."""
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # new log files: 0600
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_format else ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _route_tracebacks_through_logging()
