"""The notification-area icon: the account state at a glance, and Open / Sync now / Pause / Quit.

Only made when the desktop has a system tray; without one the status window is the app (closing it quits).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from wizard.ui.account_state import AccountState
from wizard.ui.icons import icon
from wizard.ui.status import StatusWindow


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class StatusTray(QSystemTrayIcon):
    """Follows the adapter's state (icon and tooltip); its menu drives the same commands as the window."""

    def __init__(self, window: StatusWindow, *, quit_app: Callable[[], None]) -> None:
        super().__init__(icon("app"), window)
        self.window = window
        self.adapter = window.adapter
        menu = QMenu()
        self.open_action = QAction(self.tr("&Open"), menu)
        self.sync_action = QAction(icon("sync"), self.tr("&Sync now"), menu)
        self.pause_action = QAction(
            self.tr("&Pause"), menu
        )  # says what it does: Pause, or Resume when paused
        self.quit_action = QAction(self.tr("&Quit"), menu)
        menu.addAction(self.open_action)
        menu.addAction(self.sync_action)
        menu.addAction(self.pause_action)
        offline_panel = getattr(window, "offline_panel", None)  # Records…, Go offline / online (issue 14)
        if offline_panel is not None:
            offline_panel.add_to_menu(menu)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        self.menu = menu
        self.setContextMenu(menu)
        self.open_action.triggered.connect(self.open_window)
        self.sync_action.triggered.connect(window.sync_now)
        self.pause_action.triggered.connect(lambda _checked=False: window.toggle_pause())
        self.quit_action.triggered.connect(quit_app)
        self.activated.connect(self._activated)
        self.adapter.state.state_changed.connect(self._follow)
        self.adapter.running_changed.connect(lambda running: self.sync_action.setEnabled(not running))
        window.hide_on_close = True
        self._follow(self.adapter.state.state, self.adapter.state.detail)

    def open_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_window()

    def _follow(self, state: AccountState, detail: str) -> None:
        self.setIcon(icon(state.icon_name) if state is not AccountState.CONNECTED else icon("app"))
        self.setToolTip(f"d365sync — {self.adapter.state.display_text()}")
        self.pause_action.setText(self.tr("&Resume") if self.adapter.paused else self.tr("&Pause"))
