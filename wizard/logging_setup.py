"""Logging: one logger per module, a rotating file in the platform log folder, secrets redacted.

A log folder that cannot be created or a log file that cannot be written (a file in the folder's place, no
permission, a full disk) never stops the program: the file log is left out with one warning line on standard
error, and the messages still reach the terminal as usual.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from pathlib import Path

from wizard.paths import Locations
from wizard.secrets import redact


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class ConsoleFormatter(RedactingFormatter):
    """One line per message on the terminal: tracebacks stay in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)
        plain.exc_info = None
        plain.exc_text = None
        plain.stack_info = None
        return super().format(plain)


def _reason(error: BaseException | None) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) if error else "unknown error"


def _warn(text: str) -> None:
    """One line on standard error, outside logging (the file log is what failed)."""
    with contextlib.suppress(OSError, ValueError):  # no terminal either: nothing more to do
        print(f"d365sync: {text}", file=sys.stderr, flush=True)


class SafeFileHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file; the first failure to write it (full disk, a vanished folder) switches the file
    log off with one warning line instead of Python's "--- Logging error ---" block for every message."""

    broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.broken:
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # logging's name
        if self.broken:
            return
        self.broken = True
        error = sys.exc_info()[1]
        with contextlib.suppress(OSError):
            if self.stream is not None:
                self.stream.close()
        self.stream = None
        _warn(
            f"the log file {self.baseFilename} cannot be written ({_reason(error)}); "
            "logging to the file stops, the program goes on."
        )


def file_handler(log_file: Path) -> logging.Handler | None:
    """The log file's handler, or None (and one warning line) when the file or its folder cannot be used."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = SafeFileHandler(log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    except OSError as error:  # a file in the folder's place, no permission, a full disk
        _warn(
            f"the log folder {log_file.parent} cannot be used ({_reason(error)}); "
            "going on without a log file."
        )
        return None
    return handler


def configure(where: Locations, *, verbose: bool = False) -> None:
    """File log at INFO (DEBUG with verbose), stderr at WARNING (INFO with verbose)."""
    root = logging.getLogger()
    if getattr(root, "_d365sync_configured", False):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler = file_handler(where.log_file)
    if handler is not None:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    console = logging.StreamHandler()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(ConsoleFormatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    for noisy in ("urllib3", "msal", "exchangelib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root._d365sync_configured = True  # type: ignore[attr-defined]
