"""The account's state as the status window and the tray show it (Nextcloud's AccountState, smaller).

One enum documents every state; :class:`AccountStateModel` holds the current one with a detail line
("retrying at 10:47") and tells listeners when it changes, so the header, the tray icon and the buttons
follow one source instead of each guessing from engine events.
"""

from __future__ import annotations

import ctypes
import enum
import sys

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Signal


class _Probe(QObject):
    ping = Signal(int)


def signal_calls_drain_true() -> bool:
    """PySide6 6.12 on CPython 3.11 returns ``True`` from ``SignalInstance.emit`` (and ``.disconnect``)
    without a new reference, so each call from Python takes one reference from ``True``; a long-running
    window (or a test run) then dies with "Fatal Python error: bool_dealloc". Measured, not assumed."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit(0)
    return sys.getrefcount(True) <= before - 8


_BOOST = 1 << 40


def void_calls_drain_none() -> bool:
    """The same PySide6 6.12 / CPython 3.11 bug for ``None``: every Qt method that returns nothing, called from
    Python, takes one reference from ``None`` (setText, setValue, show, ...); a status window that runs for
    hours then dies with "Fatal Python error: none_dealloc". Measured, not assumed."""
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - 8


def protect_singletons() -> bool:
    """Make ``True``/``False``/``None`` practically immortal (as Python 3.12+ does) when PySide drains them.

    The three objects are static and never freed; only a count that reaches zero is fatal. Adding 2**40
    references (over a trillion calls) is safer than wrapping PySide's methods. Idempotent; returns True when
    the counts were raised (now or before). Remove once PySide6 is fixed or Python 3.12 is the minimum."""
    global _PROTECTED
    if _PROTECTED:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    drained: list[object] = []
    if signal_calls_drain_true():
        drained += [True, False]
    if void_calls_drain_none():
        drained.append(None)
    for value in drained:
        count = ctypes.c_ssize_t.from_address(id(value))  # ob_refcnt is the first field of every object
        count.value += _BOOST
    _PROTECTED = bool(drained)
    return _PROTECTED


_PROTECTED = False
SINGLETONS_PROTECTED = protect_singletons()


class AccountState(enum.Enum):
    """Where the account stands, from the user's point of view."""

    SIGNED_OUT = (
        "signed_out"  # no valid sign-in (token expired, password refused): sign in again in the wizard
    )
    CONNECTING = "connecting"  # checking the organization and the synchronizing computer
    CONNECTED = "connected"  # reachable and idle; the next run is scheduled
    SYNCING = "syncing"  # a run is going on
    PAUSED = "paused"  # the user paused synchronization; nothing runs until Resume
    OFFLINE = "offline"  # the organization or the mailbox cannot be reached; retried later
    NOT_SYNC_COMPUTER = "not_sync_computer"  # another computer synchronizes this mailbox; nothing runs here
    NOT_CONFIGURED = (
        "not_configured"  # no synchronizing organization, or no mailbox bound in it: the detail says
    )
    # what to do (the wizard); nothing runs and nothing is retried until the setup changes
    ERROR = "error"  # the last run failed; the detail says why and when it is retried

    @property
    def text(self) -> str:
        """The translated display string."""
        return QCoreApplication.translate("AccountState", str(_TEXTS[self]))

    @property
    def icon_name(self) -> str:
        """One of resources/icons: ok, warning, error, sync, info."""
        return _ICONS[self]

    @property
    def busy(self) -> bool:
        return self in (AccountState.CONNECTING, AccountState.SYNCING)


_TEXTS = {
    AccountState.SIGNED_OUT: QT_TRANSLATE_NOOP("AccountState", "Signed out"),
    AccountState.CONNECTING: QT_TRANSLATE_NOOP("AccountState", "Connecting…"),
    AccountState.CONNECTED: QT_TRANSLATE_NOOP("AccountState", "Connected"),
    AccountState.SYNCING: QT_TRANSLATE_NOOP("AccountState", "Synchronizing…"),
    AccountState.PAUSED: QT_TRANSLATE_NOOP("AccountState", "Paused"),
    AccountState.OFFLINE: QT_TRANSLATE_NOOP("AccountState", "Offline"),
    AccountState.NOT_SYNC_COMPUTER: QT_TRANSLATE_NOOP("AccountState", "Not the synchronizing computer"),
    AccountState.NOT_CONFIGURED: QT_TRANSLATE_NOOP("AccountState", "Not set up"),
    AccountState.ERROR: QT_TRANSLATE_NOOP("AccountState", "Error"),
}

_ICONS = {
    AccountState.SIGNED_OUT: "warning",
    AccountState.CONNECTING: "sync",
    AccountState.CONNECTED: "ok",
    AccountState.SYNCING: "sync",
    AccountState.PAUSED: "info",
    AccountState.OFFLINE: "warning",
    AccountState.NOT_SYNC_COMPUTER: "info",
    AccountState.NOT_CONFIGURED: "warning",
    AccountState.ERROR: "error",
}


class AccountStateModel(QObject):
    """The current state and a detail line; ``state_changed(state, detail)`` fires on every change."""

    state_changed = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = AccountState.CONNECTING
        self._detail = ""

    @property
    def state(self) -> AccountState:
        return self._state

    @property
    def detail(self) -> str:
        return self._detail

    def set_state(self, state: AccountState, detail: str = "") -> None:
        if (state, detail) == (self._state, self._detail):
            return
        self._state, self._detail = state, detail
        self.state_changed.emit(state, detail)

    def display_text(self) -> str:
        """ "Error — the server is busy; retrying at 10:47": the state and, when there is one, the detail."""
        return f"{self._state.text} — {self._detail}" if self._detail else self._state.text
