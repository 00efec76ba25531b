"""A Reporter for the log and the command line: progress lines on a stream, details in the log."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from wizard.sync.run import KindCounts, KindResult, RunSummary, already_tracked_text

log = logging.getLogger("wizard.sync")


def describe_counts(counts: KindCounts) -> str:
    """``3 created, 1 updated`` (only what is not zero; ``nothing`` when all are)."""
    parts = [f"{getattr(counts, name)} {name}" for name in vars(counts) if getattr(counts, name)]
    return ", ".join(parts) if parts else "nothing"


class LogReporter:
    """Writes each event to the log; with a ``stream`` (the CLI's stderr) also short lines for people."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def _say(self, text: str) -> None:
        log.info("%s", text)
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def run_started(self, kinds: Sequence[str]) -> None:
        self._say(f"Synchronizing {', '.join(kinds) if kinds else 'nothing'} …")

    def kind_started(self, kind: str) -> None:
        log.info("%s: started", kind)

    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None:
        of = f"/{total}" if total is not None else ""
        log.debug("%s: %d%s %s", kind, done, of, message)

    def kind_finished(self, result: KindResult) -> None:
        text = (
            f"{result.kind}: {result.status}; to Dynamics 365: {describe_counts(result.to_crm)}; "
            f"to the mailbox: {describe_counts(result.to_mailbox)}"
        )
        if result.skipped:
            text += f"; {already_tracked_text(result.skipped)}"
        if result.message:
            text += f" — {result.message}"
        self._say(text)

    def run_finished(self, summary: RunSummary) -> None:
        self._say(f"Synchronization {summary.status}.")


def stderr_reporter() -> LogReporter:
    return LogReporter(sys.stderr)
