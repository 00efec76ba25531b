"""SIGTERM and SIGINT end the Qt application as Quit does, also while a question (a nested event loop) is open,
and outside an event loop with SystemExit (the windowed demo's clean-up depends on it, issue 12 item 8). Each case
runs in its own process: QCoreApplication.exit() would stop every later event loop of the test session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui

IN_A_LOOP = """
    import os, signal, sys, threading
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
    from wizard.ui.quit_signals import quit_on_signals

    app = QApplication([])
    quit_on_signals(app)
    window = QWidget()
    window.show()
    answers = []

    def ask():  # a question is open (its own event loop) when the signal comes
        answers.append(QMessageBox.question(window, "Question", "Go on?"))
        answers.append(QMessageBox.question(window, "Question", "And again?"))  # returns at once

    QTimer.singleShot(50, ask)
    threading.Timer(0.5, os.kill, (os.getpid(), int(sys.argv[1]))).start()
    QTimer.singleShot(15000, lambda: sys.exit("the signal did not end the event loop"))
    returned = app.exec()
    print(returned, len(answers), QMessageBox.StandardButton.Yes in answers)
"""

OUTSIDE = """
    import signal, sys
    from PySide6.QtWidgets import QApplication
    from wizard.ui.quit_signals import quit_on_signals

    app = QApplication([])
    quit_on_signals(app).stop()
    try:
        signal.raise_signal(int(sys.argv[1]))
    except SystemExit as stopped:
        print("SystemExit", stopped.code)
"""


def _run(script: str, signum: int) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(int(signum))],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_every_event_loop(signum: int) -> None:
    assert _run(IN_A_LOOP, signum) == f"{128 + signum} 2 False"  # both questions answered "not Yes"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_outside_an_event_loop_a_signal_is_system_exit(signum: int) -> None:
    assert _run(OUTSIDE, signum) == f"SystemExit {128 + signum}"
