"""The Welcome page's "Demo environment" panel: the stand-ins' addresses and the demo user's sign-in, each with a
Copy button, so that the windowed demo can be taken down the paths the prefill does not take (on premises, a
given EWS URL, Microsoft Graph)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QLineEdit, QPushButton, QWidget

from wizard.ui.presets import DemoEnvironment
from wizard.ui.widgets import hint


class DemoPanel(QGroupBox):
    """One row per address: what it is, the address (read-only, selectable) and Copy."""

    def __init__(self, demo: DemoEnvironment, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Demo environment"), parent)
        self.values: dict[str, QLineEdit] = {}  # by row title, for tests
        self.copy_buttons: dict[str, QPushButton] = {}
        self._restore = QTimer(self)  # "Copied" goes back to "Copy" (a child: it ends with the panel)
        self._restore.setSingleShot(True)
        self._restore.setInterval(1500)
        self._restore.timeout.connect(self._restore_buttons)
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        intro = hint(
            self.tr(
                "This demo runs stand-ins for Dynamics 365, Exchange and the sign-in service on this computer. "
                "The wizard is prefilled for the online path; to try another one, copy an address from here."
            ),
            self,
        )
        grid.addWidget(intro, 0, 0, 1, 3)
        rows: list[tuple[str, str]] = [
            (self.tr("Dynamics 365 (online): {0}").format(name), url) for name, url in demo.dataverse
        ]
        name, url = demo.onprem
        if url:
            rows.append((self.tr("On-premises: {0}").format(name), url))
        rows += [
            (self.tr("Global Discovery"), demo.discovery_url),
            (self.tr("Sign-in authority"), demo.authority_url),
            (self.tr("Exchange (EWS)"), demo.ews_url),
            (self.tr("Exchange Autodiscover"), demo.autodiscover_url),
            (self.tr("Microsoft Graph (Exchange Online)"), demo.graph_url),
        ]
        if demo.pop3 or demo.smtp:
            rows += [(self.tr("POP3"), demo.pop3), (self.tr("SMTP"), demo.smtp)]
        else:
            rows.append((self.tr("POP3 and SMTP"), ""))
        rows += [
            (self.tr("Certificate authority file"), demo.ca_file),
            (self.tr("User (Microsoft 365 sign-in)"), demo.user),
            (self.tr("User (Windows sign-in)"), demo.windows_user),
            (self.tr("Password"), demo.password),
            (self.tr("Mailbox password"), demo.mailbox_password),
        ]
        for row, (title, value) in enumerate(rows, start=1):
            label = QLabel(title, self)
            grid.addWidget(label, row, 0)
            if not value:
                grid.addWidget(hint(self.tr("not part of this demo"), self), row, 1, 1, 2)
                continue
            field = QLineEdit(value, self)
            field.setReadOnly(True)
            field.setAccessibleName(title)
            field.setToolTip(value)
            field.setCursorPosition(0)
            label.setBuddy(field)
            button = QPushButton(self.tr("Copy"), self)
            button.setAutoDefault(False)
            button.setAccessibleName(self.tr("Copy {0}").format(title))
            button.clicked.connect(lambda _=False, f=field, b=button: self._copy(f, b))
            grid.addWidget(field, row, 1)
            grid.addWidget(button, row, 2)
            self.values[title] = field
            self.copy_buttons[title] = button

    def _copy(self, field: QLineEdit, button: QPushButton) -> None:
        QGuiApplication.clipboard().setText(field.text())
        self._restore_buttons()
        button.setText(self.tr("Copied"))
        self._restore.start()

    def _restore_buttons(self) -> None:
        for button in self.copy_buttons.values():
            button.setText(self.tr("Copy"))
