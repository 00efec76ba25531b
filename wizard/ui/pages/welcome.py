"""Welcome: what the program does and what it will change in Dynamics 365 (so nobody is surprised); in the
windowed demo, the stand-ins' addresses as well."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from wizard.ui.controller import WizardController
from wizard.ui.pages.base import BasePage
from wizard.ui.pages.demo_panel import DemoPanel
from wizard.ui.presets import Preset


class WelcomePage(BasePage):
    def __init__(
        self, controller: WizardController, preset: Preset | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(controller, parent)
        self.setTitle(self.tr("Welcome to the Configuration Wizard"))
        self.setSubTitle(
            self.tr(
                "Connect this computer to Dynamics 365 and your mailbox, the way Dynamics 365 for Outlook did."
            )
        )
        text = QLabel(self)
        text.setWordWrap(True)
        text.setTextFormat(text.textFormat().RichText)
        text.setText(
            self.tr(
                "<p>d365sync keeps your <b>email, contacts, appointments and tasks</b> in step between your mailbox "
                "(Exchange, Exchange Online, or POP3 for email only) and one Dynamics 365 organization: "
                "the <i>synchronizing organization</i>.</p>"
                "<p>In the next steps you will add your organizations, choose the one that synchronizes, bind "
                "your primary mailbox, decide whether this computer synchronizes, and choose what to synchronize.</p>"
                "<p><b>What this wizard changes in Dynamics 365</b></p>"
                "<ul>"
                "<li>Your <b>mailbox record</b>: the email address, the delivery methods for incoming and "
                "outgoing email, and the flag that marks your synchronizing organization (it is cleared in "
                "your other organizations).</li>"
                "<li>The <b>synchronizing computer</b>: a note on your mailbox record naming the one computer "
                "that synchronizes for you.</li>"
                "<li>Your <b>personal options</b>: which incoming email is tracked, how often to synchronize, "
                "and your synchronization filters.</li>"
                "</ul>"
                "<p>The steps you start with a button (<i>Synchronize</i>, <i>Bind this mailbox</i>, <i>Make "
                "this computer the synchronizing client</i>, <i>Create the default filters</i>) take effect at "
                "once; your options are written when you click <b>Finish</b>. Nothing else is changed. "
                "Passwords are kept in your system's keyring, never in a file.</p>"
            )
        )
        self.body.addWidget(text)
        self.demo_panel = DemoPanel(preset.demo, self) if preset is not None and preset.demo else None
        if self.demo_panel is not None:
            self.body.addWidget(self.demo_panel)
        self.body.addStretch(1)
