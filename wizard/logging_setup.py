"""Logging: one logger per module, a rotating file in the platform log folder, secrets redacted."""

from __future__ import annotations

import logging
import logging.handlers

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


def configure(where: Locations, *, verbose: bool = False) -> None:
    """File log at INFO (DEBUG with verbose), stderr at WARNING (INFO with verbose)."""
    root = logging.getLogger()
    if getattr(root, "_d365sync_configured", False):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        where.log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            where.log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(fmt)
        root.addHandler(file_handler)
    except OSError:
        pass  # a read-only log folder must not stop the program
    console = logging.StreamHandler()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(ConsoleFormatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    for noisy in ("urllib3", "msal", "exchangelib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root._d365sync_configured = True  # type: ignore[attr-defined]
