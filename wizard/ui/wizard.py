"""The Configuration Wizard window: a QWizard with one member per page (Nextcloud's owncloudwizard layout).

The pages talk to the :class:`WizardController` only; this class builds them, wires the controller and
handles closing while a step still runs.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget, QWizard

from wizard.ui.controller import WizardController
from wizard.ui.icons import icon
from wizard.ui.pages.computer import ComputerPage
from wizard.ui.pages.mailbox import MailboxPage
from wizard.ui.pages.options import OptionsPage
from wizard.ui.pages.organizations import OrganizationsPage
from wizard.ui.pages.summary import SummaryPage
from wizard.ui.pages.welcome import WelcomePage
from wizard.ui.presets import Preset

TITLE = "d365sync – Configuration Wizard"


class ConfigurationWizard(QWizard):
    def __init__(
        self, controller: WizardController, *, preset: Preset | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle(self.tr("d365sync – Configuration Wizard"))
        self.setWindowIcon(icon("app"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, icon("app").pixmap(48, 48))
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.setMinimumSize(760, 600)

        self.welcome_page = WelcomePage(controller, self)
        self.organizations_page = OrganizationsPage(controller, preset, self)
        self.mailbox_page = MailboxPage(controller, preset, self)
        self.computer_page = ComputerPage(controller, self)
        self.options_page = OptionsPage(controller, self)
        self.summary_page = SummaryPage(controller, self.options_page.choice, self._computer_text, self)
        self.pages = [
            self.welcome_page,
            self.organizations_page,
            self.mailbox_page,
            self.computer_page,
            self.options_page,
            self.summary_page,
        ]
        for page in self.pages:
            self.addPage(page)
        if controller.profile.organizations:  # not the first run: straight to the organizations
            self.setStartId(self.pageIds()[1])

    def _computer_text(self) -> str:
        info = self.computer_page.info
        if info is None:
            return self.tr("unknown (the synchronizing computer was not checked)")
        if info.held_here:
            return self.tr("{0} synchronizes").format(info.this_hostname)
        if info.claim is None:
            return self.tr("{0} does not synchronize (no computer does)").format(info.this_hostname)
        return self.tr("{0} does not synchronize ({1} does)").format(info.this_hostname, info.claim.hostname)

    def reject(self) -> None:
        """Cancel / Escape: stop running steps first, then close."""
        if self.controller.is_busy():
            self.controller.runner.cancel_all()
        super().reject()

    def closeEvent(self, event: Any) -> None:
        self.controller.runner.cancel_all()
        super().closeEvent(event)

    def keyPressEvent(self, event: Any) -> None:
        # Return in a multi-line widget or on a focused button must not skip pages; QWizard handles the rest.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.currentPage().isComplete():
            event.accept()
            return
        super().keyPressEvent(event)
