"""SIGTERM and SIGINT end the Qt application as Quit does: every running event loop stops and the caller's
clean-up runs (the windowed demo removes its temporary folders). Qt's event loop runs no Python code by itself,
so a short timer gives Python's signal handlers their turn; outside an event loop the signal ends the program
with SystemExit, which runs the same clean-up."""

from __future__ import annotations

import signal
from types import FrameType

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def quit_on_signals(parent: QObject, interval_ms: int = 200) -> QTimer:
    """Install the handlers; returns the timer that lets them run (parented to ``parent``, the application)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        thread = QThread.currentThread()
        if thread is None or thread.loopLevel() == 0:  # between event loops (starting, or in between)
            raise SystemExit(128 + signum)
        QCoreApplication.exit(128 + signum)  # leaves every event loop, nested dialogs' included

    for number in SIGNALS:
        signal.signal(number, handler)
    timer = QTimer(parent)
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: None)  # a Python call: pending signal handlers run now
    timer.start()
    return timer
